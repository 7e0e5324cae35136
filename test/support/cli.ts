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

/**
 * The result document of a `--json --wait` run: its last line is the summary, which holds
 * it (the lines before are status objects).
 */
export function waitResult<T>(stdout: string): T {
  const lines = stdout.trim().split('\n');
  const summary = JSON.parse(lines[lines.length - 1]!) as { message_type: string; result: T };
  if (summary.message_type !== 'summary') throw new Error(`not a summary line: ${lines.at(-1)}`);
  return summary.result;
}
