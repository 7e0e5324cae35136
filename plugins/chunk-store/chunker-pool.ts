// Worker threads that chunk and hash whole files (see chunk-worker.ts), one file per
// thread at a time; callers queue for a free thread.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { CHUNK_WINDOW } from './chunk-worker';
import type { ChunkMessage } from './chunk-worker';

export interface HashedChunk {
  hash: string;
  data: Buffer;
}

export class ChunkerPool {
  private readonly idle: Worker[] = [];
  private readonly waiting: ((w: Worker) => void)[] = [];

  constructor(threads: number) {
    for (let i = 0; i < threads; i++) this.idle.push(this.spawn());
  }

  private spawn(): Worker {
    const w = new Worker(path.join(__dirname, 'chunk-worker.js'));
    w.unref(); // never keeps the process alive
    return w;
  }

  /** The file's chunks in order, with their hashes; the next ones are read as these are used. */
  async *chunks(file: string): AsyncGenerator<HashedChunk> {
    const worker = await this.take();
    const inbox: ChunkMessage[] = [];
    let wake: (() => void) | undefined;
    const onMessage = (m: ChunkMessage) => {
      inbox.push(m);
      wake?.();
    };
    worker.on('message', onMessage);
    let finished = false;
    try {
      worker.postMessage({ file });
      let used = 0;
      for (;;) {
        while (inbox.length === 0) await new Promise<void>((r) => (wake = r));
        const m = inbox.shift()!;
        if (m.kind === 'done') {
          finished = true;
          return;
        }
        if (m.kind === 'error') {
          finished = true;
          throw new Error(`cannot read ${file}: ${m.message}`);
        }
        yield { hash: m.hash, data: Buffer.from(m.data) };
        if (++used % (CHUNK_WINDOW / 2) === 0) {
          worker.postMessage({ kind: 'more', n: CHUNK_WINDOW / 2 });
        }
      }
    } finally {
      worker.off('message', onMessage);
      if (finished) {
        this.give(worker);
      } else {
        // The consumer stopped mid-file (a failure elsewhere): the thread is replaced.
        void worker.terminate();
        this.give(this.spawn());
      }
    }
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
    await Promise.all(this.idle.splice(0).map((w) => w.terminate()));
  }
}
