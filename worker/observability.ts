// How a worker is watched: logs (readable text, or one JSON object per line with the run's
// context), Prometheus metrics (the SDK runtime's and the service's own, through its meter)
// and health endpoints, all on one listener at KARBOR_METRICS_ADDRESS.
import * as http from 'node:http';
import * as net from 'node:net';
import type { Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { ActivityInterceptors, LogEntry, LogLevel, Logger, Worker } from '@temporalio/worker';
import type { Redis } from 'ioredis';

/** Turns an SDK log entry into one line of text or JSON (never more than one line). */
export function formatLogLine(entry: LogEntry, format: 'text' | 'json'): string {
  const ts = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const meta: Record<string, unknown> = { ...(entry.meta ?? {}) };
  // A token that can complete the activity, and noise: never in a log line.
  delete meta.taskToken;
  for (const [k, v] of Object.entries(meta)) if (v instanceof Error) meta[k] = errorFields(v);
  if (format === 'json') {
    return JSON.stringify({ ts, level: entry.level.toLowerCase(), msg: entry.message, ...meta });
  }
  const fields = Object.entries(meta)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${ts} ${entry.level.padEnd(5)} ${entry.message.replace(/\n/g, '\\n')}${fields ? ` ${fields}` : ''}`;
}

/** An error as loggable fields (JSON.stringify of an Error is `{}`). */
function errorFields(err: Error, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  const code = (err as { code?: unknown; type?: unknown }).code ?? (err as { type?: unknown }).type;
  if (code !== undefined) out.code = code;
  if (err.cause instanceof Error && depth < 3) out.cause = errorFields(err.cause, depth + 1);
  return out;
}

/** A port nobody listens on now, for the runtime's own exporter behind our listener. */
async function freeLocalPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

export interface Telemetry {
  logger: Logger;
  /** Where the runtime's Prometheus exporter listens (internal; proxied at /metrics). */
  metricsSource?: string;
}

/**
 * Installs the SDK runtime with our logger and, when metrics are asked for, its Prometheus
 * exporter. Must run before any connection or worker is made.
 */
export async function installTelemetry(opts: {
  logFormat: 'text' | 'json';
  metrics: boolean;
  level?: LogLevel;
}): Promise<Telemetry> {
  const logger = new DefaultLogger(opts.level ?? 'INFO', (entry) => {
    process.stderr.write(`${formatLogLine(entry, opts.logFormat)}\n`);
  });
  const metricsSource = opts.metrics ? `127.0.0.1:${await freeLocalPort()}` : undefined;
  Runtime.install({
    logger,
    ...(metricsSource
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metricsSource } } } }
      : {}),
  });
  return { logger, ...(metricsSource ? { metricsSource } : {}) };
}

/**
 * Puts the hook's resource into every log line of a hook activity (the SDK adds the
 * workflow, run, activity and attempt).
 */
export function resourceLogAttributes(): ActivityInterceptors {
  let resource: string | undefined;
  return {
    inbound: {
      execute: (input, next) => {
        const arg = input.args[0] as { resource?: unknown } | undefined;
        if (typeof arg?.resource === 'string') resource = arg.resource;
        return next(input);
      },
    },
    outbound: {
      getLogAttributes: (attrs, next) => next(resource ? { ...attrs, resource } : attrs),
    },
  };
}

async function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export interface HealthSources {
  redis: Redis;
  /** A client connection to the same Temporal frontend the worker polls. */
  temporal: Connection;
  worker: () => Pick<Worker, 'getState'> | undefined;
}

/** What /readyz reports: each part and whether the worker may take work. */
export async function readiness(
  src: HealthSources,
): Promise<{ ready: boolean; checks: Record<string, string> }> {
  const checks: Record<string, string> = {};
  const check = async (name: string, probe: () => Promise<void>) => {
    try {
      await within(1500, probe());
      checks[name] = 'ok';
    } catch (err) {
      checks[name] = (err as Error).message;
    }
  };
  await Promise.all([
    check('redis', async () => {
      if (src.redis.status !== 'ready') throw new Error(`connection ${src.redis.status}`);
      await src.redis.ping();
    }),
    check('temporal', async () => {
      const { status } = await src.temporal.healthService.check({});
      if (Number(status) !== 1) throw new Error(`frontend status ${String(status)}`); // 1: SERVING
    }),
    check('pollers', () => {
      const state = src.worker()?.getState() ?? 'not started';
      return state === 'RUNNING' ? Promise.resolve() : Promise.reject(new Error(`worker ${state}`));
    }),
  ]);
  return { ready: Object.values(checks).every((v) => v === 'ok'), checks };
}

/** /metrics (the runtime's exporter, proxied), /healthz and /readyz on one listener. */
export async function serveObservability(
  address: string,
  metricsSource: string | undefined,
  health: HealthSources,
): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const reply = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return reply(200, 'text/plain', 'ok\n');
    if (path === '/readyz') {
      void readiness(health).then(
        (r) => reply(r.ready ? 200 : 503, 'application/json', `${JSON.stringify(r)}\n`),
        (err: unknown) => reply(503, 'text/plain', `${(err as Error).message}\n`),
      );
      return;
    }
    if (path === '/metrics' && metricsSource) {
      void fetch(`http://${metricsSource}/metrics`).then(
        async (r) => reply(r.status, 'text/plain; version=0.0.4', await r.text()),
        (err: unknown) =>
          reply(502, 'text/plain', `metrics unavailable: ${(err as Error).message}\n`),
      );
      return;
    }
    reply(404, 'text/plain', 'not found: try /metrics, /healthz or /readyz\n');
  });
  const cut = address.lastIndexOf(':');
  const host = address.slice(0, cut).replace(/^\[|\]$/g, '') || '0.0.0.0';
  const port = Number(address.slice(cut + 1));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
