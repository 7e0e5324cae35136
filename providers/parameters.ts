import Ajv from 'ajv';
import type { ValidateFunction } from 'ajv';
import type { Plan } from '../common/documents';
import { InvalidArgumentError, InvalidParametersError } from '../common/errors';
import type { GraphResource } from '../graph/resource-graph';
import type { JsonSchema } from '../plugins/types';

const ajv = new Ajv({ allErrors: true, strict: false });
const compiled = new WeakMap<JsonSchema, ValidateFunction>();

function compile(schema: JsonSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

/** Parameters for one resource: `parameters[type]` overlaid by `parameters[type#id]`. */
export function parametersFor(
  params: Plan['parameters'] | undefined,
  resource: { type: string; id: string },
): Record<string, unknown> {
  return {
    ...(params?.[resource.type] ?? {}),
    ...(params?.[`${resource.type}#${resource.id}`] ?? {}),
  };
}

/** Validates against a plugin's JSON Schema; the error names the resource and every problem. */
export function checkParameters(
  schema: JsonSchema,
  value: Record<string, unknown>,
  what: string,
): void {
  const validate = compile(schema);
  if (!validate(value)) {
    const problems = (validate.errors ?? [])
      .map(
        (e) =>
          `${e.instancePath || '(parameters)'} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`,
      )
      .join('; ');
    throw new InvalidParametersError(`parameters for ${what} are invalid: ${problems}`);
  }
}

/** Parameter keys must name a type or type#id; a typo would otherwise be ignored silently. */
export function checkParameterKeys(
  params: Plan['parameters'] | undefined,
  types: Set<string>,
  resources: GraphResource[],
): void {
  const ids = new Set(resources.map((r) => `${r.type}#${r.id}`));
  for (const key of Object.keys(params ?? {})) {
    const hash = key.indexOf('#');
    const type = hash < 0 ? key : key.slice(0, hash);
    if (!types.has(type)) {
      throw new InvalidParametersError(
        `parameters name resource type ${type}, which the provider does not protect`,
      );
    }
    if (hash >= 0 && !ids.has(key)) {
      throw new InvalidParametersError(
        `parameters name ${key}, which is not a resource of the plan`,
      );
    }
    const v = params![key];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw new InvalidParametersError(`parameters for ${key} must be an object`);
    }
  }
}

/**
 * Restore targets must name resources of the checkpoint: a mistyped id would otherwise
 * restore that resource in place, over the original.
 */
export function checkTargetIds(
  targets: Record<string, string> | undefined,
  resources: GraphResource[],
  checkpointId: string,
  /** Per resource type, what its target must look like (the provider's document). */
  targetSchemas: Record<string, JsonSchema> = {},
): void {
  const ids = new Set(resources.map((r) => r.id));
  for (const [id, target] of Object.entries(targets ?? {})) {
    if (!ids.has(id)) {
      const known = [...ids].slice(0, 5).join(', ');
      throw new InvalidArgumentError(
        `--target names ${JSON.stringify(id)}, which is not a resource of checkpoint ${checkpointId} (it holds ${known}${ids.size > 5 ? ', …' : ''})`,
      );
    }
    if (typeof target !== 'string' || target.length === 0 || target.includes('\0')) {
      throw new InvalidArgumentError(`--target for ${id} must be a non-empty string`);
    }
    const type = resources.find((r) => r.id === id)!.type;
    const schema = targetSchemas[type];
    if (schema && !compile(schema)(target)) {
      const words = typeof schema.description === 'string' ? schema.description : 'valid';
      throw new InvalidArgumentError(
        `--target for ${id} must be ${words}, got ${JSON.stringify(target)}`,
      );
    }
  }
}
