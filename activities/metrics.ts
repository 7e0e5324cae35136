// The service's own metrics, emitted through the SDK's metric meter so they leave the worker
// on the same Prometheus endpoint as the SDK's (see worker/observability.ts). Instruments are
// made on use: the meter returns the same instrument for the same name.
import { Context } from '@temporalio/activity';
import type { MetricTags } from '@temporalio/common';
import type { DataStats } from '../plugins/types';

const meter = () => Context.current().metricMeter;

export function countBytes(stats: DataStats, tags: MetricTags): void {
  for (const [kind, n] of Object.entries(stats) as [keyof DataStats, number | undefined][]) {
    if (!n || kind === 'files') continue;
    meter()
      .createCounter(`karbor_bytes_${kind}`, 'bytes', `Bytes ${kind} by data hooks`)
      .add(n, tags);
  }
}

export function hookDuration(ms: number, tags: MetricTags): void {
  meter()
    .createHistogram('karbor_hook_duration', 'int', 'ms', 'Time a plugin hook took')
    .record(Math.round(ms), tags);
}

export function countLease(event: 'renewals' | 'losses'): void {
  meter()
    .createCounter(`karbor_lease_${event}`, 'leases', `Checkpoint write lease ${event}`)
    .add(1);
}

export function countGc(action: string, n: number): void {
  if (n > 0)
    meter()
      .createCounter('karbor_gc_actions', 'actions', 'What garbage collection did')
      .add(n, { action });
}

export function chunkStoreSize(providerId: string, chunks: number, bytes: number): void {
  const m = meter();
  m.createGauge('karbor_chunk_store_chunks', 'int', 'chunks', 'Chunks in a provider store').set(
    chunks,
    { provider: providerId },
  );
  m.createGauge('karbor_chunk_store_bytes', 'int', 'bytes', 'Bytes in a provider store').set(
    bytes,
    { provider: providerId },
  );
}
