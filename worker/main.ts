#!/usr/bin/env node
// karbor-worker: hosts Karbor's workflows and activities on the configured task queue.
// Temporal's runtime turns SIGINT/SIGTERM into a graceful shutdown: polling stops, activities
// in flight get the grace time to finish, then are cancelled; we close Redis last.
import { Client, Connection } from '@temporalio/client';
import { configFromEnv } from '../common/config';
import { connectionOptions, temporalUnreachable } from '../common/temporal-profile';
import { hostQueue } from '../graph/host-pinning';
import { KarborError } from '../common/errors';
import { connectRedis, redactUrl } from '../common/redis';
import { connectTemporalWorker, createKarborWorker } from './karbor-worker';
import type { KarborWorker } from './karbor-worker';
import { installTelemetry, serveObservability } from './observability';

async function main(): Promise<void> {
  // gRPC's TLS to an IP address makes Node warn about RFC 6066 on every connect.
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string }) => {
    if (w.code !== 'DEP0123') console.error(`karbor-worker: ${w.name}: ${w.message}`);
  });
  const config = configFromEnv(process.env);
  const telemetry = await installTelemetry({
    logFormat: config.logFormat ?? 'text',
    metrics: config.metricsAddress !== undefined,
  });
  const log = telemetry.logger;
  const redis = await connectRedis(config.redisUrl, 'karbor-worker');
  try {
    const connection = await connectTemporalWorker(config);
    const clientConnection = await Connection.connect(connectionOptions(config)).catch(
      async (err: unknown) => {
        throw await temporalUnreachable(config, err);
      },
    );
    try {
      const client = new Client({ connection: clientConnection, namespace: config.namespace });
      // Ready only once the worker exists and polls.
      const running: { worker?: KarborWorker } = {};
      const listener = config.metricsAddress
        ? await serveObservability(config.metricsAddress, telemetry.metricsSource, {
            redis,
            temporal: clientConnection,
            worker: () => running.worker,
          })
        : undefined;
      if (config.metricsAddress)
        log.info(`metrics, /healthz and /readyz on http://${config.metricsAddress}`);
      const worker = await createKarborWorker({
        config,
        connection,
        redis,
        env: process.env,
        client,
        gcSchedule: process.env.KARBOR_GC_SCHEDULE !== 'off',
      });
      running.worker = worker;
      log.info(
        `karbor-worker ${worker.buildId}: polling ${config.taskQueue} and ${hostQueue(config.taskQueue, worker.host)} on ${config.temporalAddress} (namespace ${config.namespace}), bank ${config.bankPrefix} at ${redactUrl(config.redisUrl)}`,
      );
      try {
        await worker.run();
      } finally {
        listener?.close();
      }
      log.info('karbor-worker: stopped');
    } finally {
      await connection.close();
      await clientConnection.close();
    }
  } finally {
    redis.disconnect();
  }
}

main().catch((err: unknown) => {
  const message = err instanceof KarborError ? err.message : ((err as Error).stack ?? String(err));
  console.error(`karbor-worker: ${message}`);
  process.exit(1);
});
