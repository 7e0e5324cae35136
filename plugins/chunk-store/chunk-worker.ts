// Runs on a worker thread: reads one file at a time, cuts it into chunks and hashes them,
// so a second core does that work while the main thread claims and writes. The main
// thread asks for more every few chunks, so a huge file never piles up in memory.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { Chunker } from './chunker';

export interface ChunkJob {
  file: string;
}

export type ChunkMessage =
  | { kind: 'chunk'; hash: string; data: ArrayBuffer }
  | { kind: 'done' }
  | { kind: 'error'; message: string };

/** Chunks sent before the worker waits for the main thread to ask for more. */
export const CHUNK_WINDOW = 8;

const port = parentPort;
if (port) {
  let credit = 0;
  let wake: (() => void) | undefined;
  const send = async (chunk: Buffer) => {
    while (credit <= 0) await new Promise<void>((r) => (wake = r));
    credit--;
    // Transfer only memory the chunk owns alone: a small buffer may be a slice of Node's
    // shared allocation pool, and transferring that would hand over (and detach) the pool.
    const data = new ArrayBuffer(chunk.byteLength);
    new Uint8Array(data).set(chunk);
    const message: ChunkMessage = {
      kind: 'chunk',
      hash: createHash('sha256').update(chunk).digest('hex'),
      data,
    };
    port.postMessage(message, [data]);
  };
  port.on('message', (m: ChunkJob | { kind: 'more'; n: number }) => {
    if ('kind' in m) {
      credit += m.n;
      wake?.();
      return;
    }
    credit = CHUNK_WINDOW;
    void (async () => {
      try {
        const chunker = new Chunker();
        for await (const piece of fs.createReadStream(m.file, { highWaterMark: 1024 * 1024 })) {
          for (const c of chunker.push(piece as Buffer)) await send(c);
        }
        for (const c of chunker.finish()) await send(c);
        port.postMessage({ kind: 'done' } satisfies ChunkMessage);
      } catch (err) {
        port.postMessage({ kind: 'error', message: (err as Error).message } satisfies ChunkMessage);
      }
    })();
  });
}
