// Runs the built `karbor` CLI as a user would, capturing exit code and output.
import { execFile } from 'node:child_process';
import { CLI } from './env';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function karbor(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
