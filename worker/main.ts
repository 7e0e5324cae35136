#!/usr/bin/env node
// karbor-worker: hosts Karbor's workflows and activities on the configured task queue.
// Temporal's runtime turns SIGINT/SIGTERM into a graceful shutdown: polling stops, activities
// in flight get the grace time to finish, then are cancelled; we close Redis last.
import { configFromEnv } from '../common/config';
import { muteTlsIpAddressWarning } from '../common/temporal-profile';
import { connectTemporal } from '../client/temporal-link';
import { hostQueue } from '../graph/host-pinning';
import { KarborError } from '../common/errors';
import { connectRedis, redactUrl } from '../common/redis';
import { connectTemporalWorker, createKarborWorker } from './karbor-worker';
import type { KarborWorker } from './karbor-worker';
import { installTelemetry, serveObservability } from './observability';

async function main(): Promise<void> {
  muteTlsIpAddressWarning('karbor-worker');
  const config = configFromEnv(process.env);
  const telemetry = await installTelemetry({
    logFormat: config.logFormat ?? 'text',
    metrics: config.metricsAddress !== undefined,
  });
  const log = telemetry.logger;
  const redis = await connectRedis(config.redisUrl, 'karbor-worker');
  try {
    const connection = await connectTemporalWorker(config);
    const { client, connection: clientConnection } = await connectTemporal(config);
    try {
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
