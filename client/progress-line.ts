import type { ProtectionService } from './protection-service';

/**
 * Waits for an operation, showing one live line on a terminal (stderr):
 * phase, resources done / total, failures, what is running, elapsed time and an ETA.
 * Off a terminal it shows nothing, so scripts get clean output.
 */
export async function watchProgress<T>(
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
        const elapsed = (Date.now() - started) / 1000;
        const rate = p.done / Math.max(elapsed, 0.001);
        const eta =
          rate > 0 && p.total > p.done ? `, ETA ${formatSeconds((p.total - p.done) / rate)}` : '';
        const running = p.running.length
          ? `, running: ${p.running.slice(0, 3).join(', ')}${p.running.length > 3 ? ` +${p.running.length - 3}` : ''}`
          : '';
        const line = `${p.phase}: ${p.done}/${p.total} resources${p.failed ? `, ${p.failed} failed` : ''}${running}, ${formatSeconds(elapsed)}${eta}`;
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
