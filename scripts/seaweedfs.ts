// A real S3-compatible store on this machine: SeaweedFS (built by scripts/seaweedfs from
// the Go module proxy) as one `weed server` with master, volume, filer and S3 gateway, all
// on loopback ports of its own, telemetry off, one access key. Tests, the fleet and the
// benchmark start one and stop it.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, PROJECT_ROOT, spawnService, waitReady } from './services';
import type { ServiceProcess, SpawnOptions } from './services';

export interface SeaweedProcess extends ServiceProcess {
  /** http://127.0.0.1:<s3 port> */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** The weed binary, built once (a few minutes the first time). */
export function seaweedBinary(): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      'bash',
      [path.join(PROJECT_ROOT, 'scripts', 'seaweedfs')],
      { maxBuffer: 1 << 24 },
      (err, stdout, stderr) =>
        err
          ? reject(
              new Error(
                `building SeaweedFS failed: ${stderr.trim().split('\n').slice(-3).join(' ')}`,
              ),
            )
          : resolve(stdout.trim().split('\n').at(-1)!),
    ),
  );
}

/** Ports whose gRPC twin (port + 10000, SeaweedFS's rule) is free too. */
async function portPair(): Promise<[number, number]> {
  for (;;) {
    const p = await freePort(50_000);
    const grpc = await freePort(60_000);
    if (p !== grpc) return [p, grpc];
  }
}

type SeaweedOptions = SpawnOptions & {
  dir: string;
  accessKeyId?: string;
  secretAccessKey?: string;
};

/**
 * Starts SeaweedFS; a start that dies early (one of its eight ports taken between our probe
 * and its bind) is tried again on other ports, twice at most.
 */
export async function startSeaweed(opts: SeaweedOptions): Promise<SeaweedProcess> {
  const weed = await seaweedBinary();
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(weed, opts);
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

async function startOnce(weed: string, opts: SeaweedOptions): Promise<SeaweedProcess> {
  fs.mkdirSync(opts.dir, { recursive: true });
  const accessKeyId = opts.accessKeyId ?? 'karbor-test';
  const secretAccessKey = opts.secretAccessKey ?? 'karbor-test-secret';
  const config = path.join(opts.dir, 's3.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      identities: [
        {
          name: 'karbor',
          credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }],
          actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'],
        },
      ],
    }),
    { mode: 0o600 },
  );
  const [master, masterGrpc] = await portPair();
  const [volume, volumeGrpc] = await portPair();
  const [filer, filerGrpc] = await portPair();
  const [s3, s3Grpc] = await portPair();
  const args = [
    'server',
    '-ip=127.0.0.1',
    '-ip.bind=127.0.0.1',
    `-dir=${opts.dir}`,
    `-master.port=${master}`,
    `-master.port.grpc=${masterGrpc}`,
    '-master.telemetry=false',
    '-master.volumeSizeLimitMB=256',
    `-volume.port=${volume}`,
    `-volume.port.grpc=${volumeGrpc}`,
    '-volume.max=0',
    '-filer',
    `-filer.port=${filer}`,
    `-filer.port.grpc=${filerGrpc}`,
    '-s3',
    `-s3.port=${s3}`,
    `-s3.port.grpc=${s3Grpc}`,
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
    `-s3.config=${config}`,
  ];
  const child = spawnService(weed, args, opts);
  const endpoint = `http://127.0.0.1:${s3}`;
  // Ready once the gateway answers an authenticated request (a bucket listing).
  await waitReady(
    `SeaweedFS S3 on port ${s3}`,
    child,
    async () => {
      try {
        const res = await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(1000) });
        return res.status > 0;
      } catch {
        return false;
      }
    },
    120_000,
    opts.logFile,
  );
  return { pid: child.pid!, port: s3, child, endpoint, accessKeyId, secretAccessKey };
}
