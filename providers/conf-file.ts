// Karbor-style provider files: INI sections of `key = value` lines; a key may repeat
// (`plugin`). Every error names the file and line.
import { ProviderConfigError } from '../common/errors';

export interface ConfEntry {
  key: string;
  value: string;
  line: number;
}

export interface ConfSection {
  name: string;
  line: number;
  entries: ConfEntry[];
}

export function parseConf(text: string, file: string): ConfSection[] {
  const sections: ConfSection[] = [];
  let current: ConfSection | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const s = raw.trim();
    if (s === '' || s.startsWith('#') || s.startsWith(';')) return;
    const header = /^\[([A-Za-z0-9_.-]+)\]$/.exec(s);
    if (header) {
      if (sections.some((x) => x.name === header[1])) {
        throw new ProviderConfigError(`${file}:${line}: section [${header[1]}] appears twice`);
      }
      current = { name: header[1]!, line, entries: [] };
      sections.push(current);
      return;
    }
    if (s.startsWith('['))
      throw new ProviderConfigError(`${file}:${line}: bad section header ${s}`);
    const eq = s.indexOf('=');
    if (eq <= 0) throw new ProviderConfigError(`${file}:${line}: expected "key = value", got ${s}`);
    if (!current) {
      throw new ProviderConfigError(`${file}:${line}: "${s}" is outside any [section]`);
    }
    current.entries.push({ key: s.slice(0, eq).trim(), value: s.slice(eq + 1).trim(), line });
  });
  return sections;
}
