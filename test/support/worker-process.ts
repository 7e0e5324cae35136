// A worker as its own process (dist/worker/main.js), with its output collected.
import { spawn } from 'node:child_process';
import { WORKER_MAIN } from './env';

export interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function startWorkerProcess(env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [WORKER_MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<Exit>((resolve) =>
    child.on('exit', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, exited, output: () => stdout + stderr, stderr: () => stderr };
}
