// A provider's `[repository]` section, read straight from its .conf file: what the CLI's
// repository commands need on the worker's machine, without loading any plugin.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ProviderConfigError, ProviderNotFoundError } from '../common/errors';
import { parseConf } from './conf-file';

export function repositorySectionOf(
  providersDir: string,
  providerId: string,
): Record<string, string> | undefined {
  let files: string[];
  try {
    files = fs.readdirSync(providersDir).filter((f) => f.endsWith('.conf'));
  } catch (err) {
    throw new ProviderConfigError(
      `cannot read providers directory ${providersDir}: ${(err as Error).message}`,
    );
  }
  for (const f of files.sort()) {
    const file = path.join(providersDir, f);
    const sections = parseConf(fs.readFileSync(file, 'utf8'), file);
    const main = sections.find((s) => s.name === 'provider');
    if (main?.entries.find((e) => e.key === 'id')?.value !== providerId) continue;
    const repo = sections.find((s) => s.name === 'repository');
    return repo ? Object.fromEntries(repo.entries.map((e) => [e.key, e.value])) : undefined;
  }
  throw new ProviderNotFoundError(providerId);
}
