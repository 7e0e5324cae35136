// Which build of Karbor a worker runs: the package version and the commit it was built from
// (dist/build-info.json, written by `npm run build`), e.g. `0.1.0+3f2a9c1d0b7e`. Workers
// announce it as their Worker Deployment version, so the Web UI and the history show which
// build ran each workflow task during a rolling upgrade.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '../common/errors';

export const DEPLOYMENT_NAME = 'karbor';

/** Build ids Temporal accepts: no dots in the deployment name, at most 255 bytes. */
const BUILD_ID = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

export function buildId(env: NodeJS.ProcessEnv): string {
  const override = env.KARBOR_BUILD_ID;
  if (override !== undefined && override !== '') {
    if (!BUILD_ID.test(override)) {
      throw new InvalidArgumentError(
        `KARBOR_BUILD_ID must be letters, digits, and . _ + - (at most 128), not "${override.slice(0, 80)}"`,
      );
    }
    return override;
  }
  const root = path.join(__dirname, '..', '..');
  const version = readJson<{ version?: string }>(path.join(root, 'package.json'))?.version ?? '0';
  const commit =
    readJson<{ commit?: string }>(path.join(__dirname, '..', 'build-info.json'))?.commit ??
    'unknown';
  return `${version}+${commit}`;
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
