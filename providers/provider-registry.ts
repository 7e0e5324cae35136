import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, ProviderConfigError, ProviderNotFoundError } from '../common/errors';
import type { PluginRegistry } from '../plugins/registry';
import type { JsonSchema, ResourcePlugin } from '../plugins/types';
import { parseConf } from './conf-file';
import type { ConfSection } from './conf-file';

/** `show_provider`'s document. */
export interface ProviderDocument {
  id: string;
  name: string;
  description: string;
  extended_info_schema: {
    options_schema: Record<string, JsonSchema>;
    restore_schema: Record<string, JsonSchema>;
    saved_info_schema: Record<string, JsonSchema>;
    /** What a `--target` for a resource of the type must look like (types that take one). */
    restore_target_schema?: Record<string, JsonSchema>;
  };
}

export interface Provider {
  doc: ProviderDocument;
  /** Resource type -> plugin, for the plugins this provider enables. */
  plugins: Map<string, ResourcePlugin>;
  /** Other sections of the file, by name: configuration for the plugins. */
  config: Record<string, Record<string, string>>;
  file: string;
}

const ID = /^[A-Za-z0-9_.\-@]+$/;

/** Providers read from `*.conf` files at worker start. */
export class ProviderRegistry {
  private readonly providers = new Map<string, Provider>();

  constructor(providers: Provider[]) {
    for (const p of providers) this.providers.set(p.doc.id, p);
  }

  /** Loads every enabled provider in `dir`; any malformed or duplicate file stops the start. */
  static load(dir: string, plugins: PluginRegistry): ProviderRegistry {
    let files: string[];
    try {
      files = fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.conf'))
        .sort();
    } catch (err) {
      throw new ProviderConfigError(
        `cannot read providers directory ${dir}: ${(err as Error).message}`,
      );
    }
    const seen = new Map<string, string>();
    const loaded: Provider[] = [];
    for (const f of files) {
      const file = path.join(dir, f);
      const p = providerFromConf(parseConf(fs.readFileSync(file, 'utf8'), file), file, plugins);
      if (!p) continue;
      const other = seen.get(p.doc.id);
      if (other)
        throw new ProviderConfigError(
          `${file}: provider id ${p.doc.id} is already defined in ${other}`,
        );
      seen.set(p.doc.id, file);
      loaded.push(p);
    }
    return new ProviderRegistry(loaded);
  }

  get(id: string): Provider {
    const p = this.providers.get(id);
    if (!p) throw new ProviderNotFoundError(id);
    return p;
  }

  all(): Provider[] {
    return [...this.providers.values()].sort((a, b) => (a.doc.id < b.doc.id ? -1 : 1));
  }

  documents(): ProviderDocument[] {
    return [...this.providers.values()].map((p) => p.doc).sort((a, b) => (a.id < b.id ? -1 : 1));
  }
}

function providerFromConf(
  sections: ConfSection[],
  file: string,
  registry: PluginRegistry,
): Provider | undefined {
  const main = sections.find((s) => s.name === 'provider');
  if (!main) throw new ProviderConfigError(`${file}:1: no [provider] section`);
  const single = (key: string, required: boolean): string | undefined => {
    const found = main.entries.filter((e) => e.key === key);
    if (found.length > 1)
      throw new ProviderConfigError(`${file}:${found[1]!.line}: ${key} given twice`);
    if (required && found.length === 0) {
      throw new ProviderConfigError(`${file}:${main.line}: [provider] needs ${key}`);
    }
    return found[0]?.value;
  };
  const known = new Set(['id', 'name', 'description', 'plugin', 'bank', 'enabled']);
  for (const e of main.entries) {
    if (!known.has(e.key)) throw new ProviderConfigError(`${file}:${e.line}: unknown key ${e.key}`);
  }
  const id = single('id', true)!;
  const idLine = main.entries.find((e) => e.key === 'id')!.line;
  if (!ID.test(id))
    throw new ProviderConfigError(
      `${file}:${idLine}: provider id ${id} has characters a bank key cannot hold`,
    );
  const enabled = single('enabled', false) ?? 'true';
  if (!['true', 'false'].includes(enabled.toLowerCase())) {
    const line = main.entries.find((e) => e.key === 'enabled')!.line;
    throw new ProviderConfigError(`${file}:${line}: enabled must be true or false`);
  }
  const bank = single('bank', false) ?? 'redis';
  if (bank !== 'redis') {
    const line = main.entries.find((e) => e.key === 'bank')!.line;
    throw new ProviderConfigError(`${file}:${line}: bank ${bank} is not supported (only redis)`);
  }
  const plugins = new Map<string, ResourcePlugin>();
  const pluginEntries = main.entries.filter((e) => e.key === 'plugin');
  if (pluginEntries.length === 0)
    throw new ProviderConfigError(`${file}:${main.line}: [provider] needs at least one plugin`);
  for (const e of pluginEntries) {
    const plugin = registry.byPluginName(e.value);
    if (!plugin) throw new ProviderConfigError(`${file}:${e.line}: unknown plugin ${e.value}`);
    plugins.set(plugin.type, plugin);
  }
  if (enabled.toLowerCase() === 'false') return undefined;
  const config: Record<string, Record<string, string>> = {};
  for (const s of sections) {
    if (s.name === 'provider') continue;
    config[s.name] = Object.fromEntries(s.entries.map((e) => [e.key, e.value]));
  }
  const schemas = (pick: (p: ResourcePlugin) => JsonSchema) =>
    Object.fromEntries([...plugins.values()].map((p) => [p.type, pick(p)]));
  return {
    doc: {
      id,
      name: single('name', true)!,
      description: single('description', false) ?? '',
      extended_info_schema: {
        options_schema: schemas((p) => p.schemas.options),
        restore_schema: schemas((p) => p.schemas.restore),
        saved_info_schema: schemas((p) => p.schemas.savedInfo),
        restore_target_schema: Object.fromEntries(
          [...plugins.values()].flatMap((p) =>
            p.schemas.restoreTarget ? [[p.type, p.schemas.restoreTarget]] : [],
          ),
        ),
      },
    },
    plugins,
    config,
    file,
  };
}

/** Karbor's list_providers over a set of documents: filters, marker, limit. */
export function pageProviders(
  docs: ProviderDocument[],
  opts: { marker?: string; limit?: number; name?: string } = {},
): ProviderDocument[] {
  const limit = opts.limit ?? 1000;
  if (!Number.isInteger(limit) || limit < 1)
    throw new InvalidArgumentError(`limit must be a positive whole number`);
  let list = docs.filter((d) => !opts.name || d.name === opts.name);
  if (opts.marker !== undefined) {
    const i = list.findIndex((d) => d.id === opts.marker);
    if (i < 0) throw new InvalidArgumentError(`marker ${opts.marker} is not a provider`);
    list = list.slice(i + 1);
  }
  return list.slice(0, limit);
}
