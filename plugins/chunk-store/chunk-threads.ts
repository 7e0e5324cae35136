// Worker threads that move file bytes into and out of repositories (see chunk-thread.ts),
// one job per thread at a time; callers queue for a free thread.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ChunkError } from './chunk-store';
import type { CutChunk, Damage, FromThread, Job, SealedBlob, ToThread } from './thread-protocol';

export interface JobHandlers {
  /** A store job cut these chunks: whether the thread writes each (false: it is stored). */
  cut?(chunks: CutChunk[]): Promise<boolean[]>;
  /** A store job sealed new chunks: pack them (may wait for a pack write: backpressure). */
  sealed?(blobs: SealedBlob[]): Promise<void>;
  progress?(bytes: number): void;
  /** A store job found the `file`-th file sparse: its data regions. */
  extents?(file: number, extents: [number, number][]): void;
  /** A check job found a missing or corrupt chunk (and goes on). */
  damaged?(damage: Damage): void;
}

/** A restore job met a missing or corrupt chunk in its `damage.index`-th file. */
export class DamagedChunkError extends ChunkError {
  constructor(
    readonly damage: Damage,
    /** Which of `runAll`'s jobs, when it came from there. */
    readonly job = 0,
  ) {
    super(damage.hash, damage.why, damage.detail);
  }
}

export class ChunkThreads {
  private readonly idle: Worker[] = [];
  private readonly waiting: ((w: Worker) => void)[] = [];

  constructor(readonly size: number) {
    for (let i = 0; i < size; i++) this.idle.push(this.spawn());
  }

  private closing = false;

  private spawn(): Worker {
    const w = new Worker(path.join(__dirname, 'chunk-thread.js'));
    w.unref(); // never keeps the process alive
    // A thread that dies while idle would hang the next job given to it: it is replaced.
    w.on('exit', () => {
      const at = this.idle.indexOf(w);
      if (at < 0 || this.closing) return;
      this.idle.splice(at, 1);
      this.give(this.spawn());
    });
    return w;
  }

  /** Runs one job on the next free thread. */
  async run(job: Job, on: JobHandlers = {}, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const thread = await this.take();
    // Cancelled while it waited for a free thread: the job never starts.
    if (signal?.aborted) {
      this.give(thread);
      signal.throwIfAborted();
    }
    // A thread that stops mid-job (failure elsewhere, abort, crash) is replaced, not reused.
    let reusable = false;
    let cleanup = () => {};
    try {
      await new Promise<void>((resolve, reject) => {
        // A cut handler still claiming chunks when the job stops must finish first: the
        // caller gives back what was claimed once this rejects, and a claim landing after
        // that would stay forever.
        let handling: Promise<unknown> = Promise.resolve();
        const stop = (err: unknown) => {
          void handling.then(
            () => reject(err instanceof Error ? err : new Error(String(err))),
            () => reject(err instanceof Error ? err : new Error(String(err))),
          );
        };
        const onMessage = (m: FromThread) => {
          switch (m.kind) {
            case 'cut':
              if (!on.cut) return stop(new Error('a store job needs a cut handler'));
              // Behind whatever the job's earlier messages started (a pack write): that is
              // the backpressure that keeps sealed blobs from piling up in memory.
              handling = handling
                .then(() => on.cut!(m.chunks))
                .then(
                  (write) => thread.postMessage({ kind: 'reserved', write } satisfies ToThread),
                  stop,
                );
              return;
            case 'sealed':
              if (!on.sealed) return stop(new Error('a store job needs a sealed handler'));
              // Queued behind the cut handler: blobs are packed in the order they were cut.
              handling = handling.then(() => on.sealed!(m.blobs)).catch(stop);
              return;
            case 'progress':
              return on.progress?.(m.bytes);
            case 'extents':
              return on.extents?.(m.file, m.extents);
            case 'damaged':
              return on.damaged?.(m.damage);
            case 'done':
              reusable = true;
              // Done once the blobs it sealed are packed too.
              void handling.then(() => resolve());
              return;
            case 'failed': {
              // A store job may fail with a question still out (its last cut): the answer
              // would reach the next job on this thread. Such a thread is replaced; and the
              // failure is reported only once the handlers it started are done, so no claim
              // lands after the caller gave back what this attempt claimed.
              reusable = job.kind !== 'store';
              const err = m.damage ? new DamagedChunkError(m.damage) : new Error(m.message);
              void handling.then(
                () => reject(err),
                () => reject(err),
              );
              return;
            }
          }
        };
        const onAbort = () => stop(signal?.reason);
        const onExit = (code: number) => stop(new Error(`a chunk thread exited (code ${code})`));
        thread.on('message', onMessage);
        thread.on('error', stop);
        thread.on('exit', onExit);
        signal?.addEventListener('abort', onAbort);
        cleanup = () => {
          thread.off('message', onMessage);
          thread.off('error', stop);
          thread.off('exit', onExit);
          signal?.removeEventListener('abort', onAbort);
        };
        thread.postMessage(job satisfies ToThread);
      });
    } finally {
      cleanup();
      if (reusable) {
        this.give(thread);
      } else {
        await thread.terminate();
        this.give(this.spawn());
      }
    }
  }

  /**
   * Runs jobs on all threads, in order as threads come free. The first failure stops the
   * others (their threads are replaced) and is thrown, with the job it came from when a chunk was damaged.
   */
  async runAll(
    jobs: Job[],
    on: (jobIndex: number) => JobHandlers,
    signal?: AbortSignal,
  ): Promise<void> {
    const stopAll = new AbortController();
    const stop = signal ? AbortSignal.any([signal, stopAll.signal]) : stopAll.signal;
    let next = 0;
    let failure: { err: unknown; job: number } | undefined;
    await Promise.all(
      Array.from({ length: Math.min(this.size, jobs.length) }, async () => {
        while (next < jobs.length && !failure) {
          const i = next++;
          try {
            await this.run(jobs[i]!, on(i), stop);
          } catch (err) {
            failure ??= { err, job: i };
            stopAll.abort(new Error('another job failed'));
          }
        }
      }),
    );
    if (!failure) return;
    const { err, job } = failure;
    throw err instanceof DamagedChunkError ? new DamagedChunkError(err.damage, job) : err;
  }

  private take(): Promise<Worker> {
    const w = this.idle.pop();
    if (w) return Promise.resolve(w);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private give(w: Worker): void {
    const next = this.waiting.shift();
    if (next) next(w);
    else this.idle.push(w);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.idle.splice(0).map((w) => w.terminate()));
  }
}
