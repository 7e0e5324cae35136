import * as fs from 'node:fs';
import type { Plan } from '../common/documents';
import Ajv from 'ajv';
import type { ValidateFunction } from 'ajv';
import { InvalidPlanError } from '../common/errors';
import { MAX_PLAN_BYTES, PLAN_SCHEMA } from '../common/plan-schema';

/** Reads and shape-checks a plan document, naming the first thing wrong with it. */
export function readPlanFile(file: string, opts: { idOptional?: boolean } = {}): Plan {
  let text: string;
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_PLAN_BYTES) {
      throw new InvalidPlanError(`plan file ${file} is ${size} bytes; a plan may be 1 MiB at most`);
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof InvalidPlanError) throw err;
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

let validators: { full: ValidateFunction; idOptional: ValidateFunction } | undefined;

/** Compiled on first use: commands that read no plan do not pay for it. */
function planValidators() {
  if (!validators) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    validators = {
      full: ajv.compile(PLAN_SCHEMA),
      idOptional: ajv.compile({
        ...PLAN_SCHEMA,
        required: PLAN_SCHEMA.required.filter((f) => f !== 'id'),
      }),
    };
  }
  return validators;
}

/**
 * Checks a plan document against the plan schema, naming every problem with its JSON path
 * (`plan.json: /resources/0/id must NOT have fewer than 1 characters; …`), on one line.
 */
export function checkPlanShape(
  doc: unknown,
  where = 'plan',
  opts: { idOptional?: boolean } = {},
): Plan {
  const { full, idOptional } = planValidators();
  const validate = opts.idOptional ? idOptional : full;
  if (!validate(doc)) {
    const problems = (validate.errors ?? []).map((e) =>
      // A pattern's regular expression says nothing to a person; the schema's words do.
      e.keyword === 'pattern' && /\/extra_info\/host$/.test(e.instancePath)
        ? `${e.instancePath} must be a host name (letters, digits, hyphens and dots)`
        : `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`,
    );
    throw new InvalidPlanError(`${where}: ${[...new Set(problems)].join('; ')}`);
  }
  if (JSON.stringify(doc).length > MAX_PLAN_BYTES) {
    throw new InvalidPlanError(`${where}: a plan may be 1 MiB at most`);
  }
  return doc as Plan;
}
