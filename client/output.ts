/** Rendering helpers: `--json` prints documents only; otherwise a readable table. */

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * One document as readable properties: scalars beside their names, nested objects and lists
 * as indented blocks below them (never one long line of JSON).
 */
export function printProperties(doc: Record<string, unknown>): void {
  process.stdout.write(propertyLines(doc, '').join('\n') + '\n');
}

const isBlock = (v: unknown) =>
  v !== null &&
  typeof v === 'object' &&
  (Array.isArray(v)
    ? v.some((x) => typeof x === 'object' && x !== null) || v.length > 3
    : Object.keys(v).length > 0);

export function propertyLines(doc: Record<string, unknown>, indent: string): string[] {
  const entries = Object.entries(doc).filter(([, v]) => v !== undefined);
  const width = Math.max(0, ...entries.filter(([, v]) => !isBlock(v)).map(([k]) => k.length));
  const out: string[] = [];
  for (const [k, v] of entries) {
    if (!isBlock(v)) {
      out.push(`${indent}${k.padEnd(width)}  ${formatValue(v)}`.trimEnd());
    } else if (Array.isArray(v)) {
      out.push(`${indent}${k}`);
      for (const item of v) {
        if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
          const [first, ...rest] = propertyLines(item as Record<string, unknown>, `${indent}    `);
          out.push(`${indent}  - ${(first ?? '').trimStart()}`, ...rest);
        } else {
          out.push(`${indent}  - ${formatValue(item)}`);
        }
      }
    } else {
      out.push(`${indent}${k}`, ...propertyLines(v as Record<string, unknown>, `${indent}  `));
    }
  }
  return out;
}

/** A column table for a list of rows. */
export function printTable(columns: string[], rows: string[][]): void {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line(columns)}\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
}

function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(formatValue).join(', ');
  if (typeof v === 'object') return Object.keys(v).length === 0 ? '-' : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v) ?? '';
}
