import type { ProtectionService } from './protection-service';

/**
 * Waits for an operation, showing one live line on a terminal (stderr): phase, resources
 * done / total, failures, bytes and MB/s, what is running, elapsed time and an ETA.
 * Off a terminal it shows nothing, so scripts get clean output.
 */
export async function watchProgress<T>(
  svc: ProtectionService,
  workflowId: string,
  wait: () => Promise<T>,
  /** How to look at the operation later, said when Ctrl-C stops the waiting. */
  reattach = `temporal workflow show -w ${workflowId}`,
): Promise<T> {
  // Ctrl-C stops the waiting, not the operation: say so, and how to find it again.
  const onInterrupt = () => {
    process.stderr.write(`\r\x1b[2Kkarbor: stopped waiting; the operation goes on: ${reattach}\n`);
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  // The id first, so an interrupted or lost terminal still has something to re-attach to.
  process.stderr.write(`karbor: started; follow it with: ${reattach}\n`);
  try {
    return await watchLine(svc, workflowId, wait);
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

async function watchLine<T>(
  svc: ProtectionService,
  workflowId: string,
  wait: () => Promise<T>,
): Promise<T> {
  if (!process.stderr.isTTY) return wait();
  const started = Date.now();
  let stop = false;
  const draw = async () => {
    while (!stop) {
      try {
        const p = await svc.progress(workflowId);
        const live = await svc.runningBytes(workflowId);
        const elapsed = (Date.now() - started) / 1000;
        const bytes = (p.bytes ?? 0) + live.done;
        const byteRate = bytes / Math.max(elapsed, 0.001);
        const rate = p.done / Math.max(elapsed, 0.001);
        // Bytes give the better estimate while a data hook with a known size runs.
        const left =
          live.total > live.done && byteRate > 0
            ? (live.total - live.done) / byteRate
            : rate > 0 && p.total > p.done
              ? (p.total - p.done) / rate
              : undefined;
        const eta = left !== undefined ? `, ETA ${formatSeconds(left)}` : '';
        const data = bytes > 0 ? `, ${formatBytes(bytes)} at ${formatBytes(byteRate)}/s` : '';
        const running = p.running.length
          ? `, running: ${p.running.slice(0, 3).join(', ')}${p.running.length > 3 ? ` +${p.running.length - 3}` : ''}`
          : '';
        const failed = p.failed ? `, ${p.failed} failed` : '';
        const line = `${p.phase}: ${p.done}/${p.total} resources${failed}${data}${running}, ${formatSeconds(elapsed)}${eta}`;
        process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns || 100) - 1)}`);
      } catch {
        // The run may not be queryable for a moment (starting, continuing as new).
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const drawing = draw();
  try {
    return await wait();
  } finally {
    stop = true;
    await drawing;
    process.stderr.write('\r\x1b[2K');
  }
}

function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

function formatBytes(n: number): string {
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
