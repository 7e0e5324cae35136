import * as fs from 'node:fs';
import type { Plan } from '../common/documents';
import { InvalidPlanError } from '../common/errors';

/** Reads and shape-checks a plan document, naming the first thing wrong with it. */
export function readPlanFile(file: string, opts: { idOptional?: boolean } = {}): Plan {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidPlanError(`cannot read plan file ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InvalidPlanError(`plan file ${file} is not JSON: ${(err as Error).message}`);
  }
  return checkPlanShape(doc, file, opts);
}

export function checkPlanShape(
  doc: unknown,
  where = 'plan',
  opts: { idOptional?: boolean } = {},
): Plan {
  const fail = (why: string): never => {
    throw new InvalidPlanError(`${where}: ${why}`);
  };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail('must be a JSON object');
  const p = doc as Record<string, unknown>;
  for (const field of ['id', 'name', 'provider_id', 'project_id'] as const) {
    if (field === 'id' && opts.idOptional && p.id === undefined) continue;
    if (typeof p[field] !== 'string' || p[field] === '') {
      fail(`"${field}" must be a non-empty string`);
    }
  }
  if (typeof p.id === 'string' && !/^[A-Za-z0-9_.\-@]+$/.test(p.id)) {
    fail('"id" may use only A-Z a-z 0-9 _ . - @');
  }
  if (!Array.isArray(p.resources) || p.resources.length === 0) {
    fail('"resources" must be a non-empty list');
  }
  (p.resources as unknown[]).forEach((r, i) => {
    const res = r as Record<string, unknown> | null;
    if (typeof res !== 'object' || res === null) fail(`resources[${i}] must be an object`);
    for (const field of ['id', 'type', 'name'] as const) {
      if (typeof res![field] !== 'string' || res![field] === '') {
        fail(`resources[${i}].${field} must be a non-empty string`);
      }
    }
  });
  if (p.parameters !== undefined && (typeof p.parameters !== 'object' || p.parameters === null)) {
    fail('"parameters" must be an object');
  }
  return doc as Plan;
}
