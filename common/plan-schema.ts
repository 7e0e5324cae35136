// The plan document's JSON Schema (DESIGN.md section 3), published by `karbor plan schema`
// and used to check every plan before anything is written. Limits: names, descriptions and
// plan/provider/project ids ≤ 255 characters; resource ids ≤ 4096 (a directory's id is its
// absolute path, and PATH_MAX is 4096); ≤ 10,000 resources (what one operation's
// continue-as-new runs are sized and measured for); a plan file ≤ 1 MiB.

import { HOST_NAME_PATTERN } from '../graph/host-pinning';

/** Characters of ids that end up in bank keys. */
const KEY_ID = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9_.\\-@]+$' };
const NAME = { type: 'string', minLength: 1, maxLength: 255 };
const RESOURCE_ID = { type: 'string', minLength: 1, maxLength: 4096 };

export const MAX_PLAN_BYTES = 1024 * 1024;
export const MAX_PLAN_RESOURCES = 10_000;

export const PLAN_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Karbor protection plan',
  type: 'object',
  required: ['id', 'name', 'provider_id', 'project_id', 'resources'],
  properties: {
    id: KEY_ID,
    name: NAME,
    description: { type: 'string', maxLength: 255 },
    provider_id: KEY_ID,
    project_id: KEY_ID,
    resources: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_PLAN_RESOURCES,
      items: {
        type: 'object',
        required: ['id', 'type', 'name'],
        properties: {
          id: RESOURCE_ID,
          type: NAME,
          name: NAME,
          extra_info: {
            type: 'object',
            properties: {
              depends_on: { type: 'array', maxItems: MAX_PLAN_RESOURCES, items: RESOURCE_ID },
              host: {
                type: 'string',
                maxLength: 253,
                pattern: HOST_NAME_PATTERN,
                description: 'the host the resource lives on: its hooks run on that host',
              },
            },
          },
        },
      },
    },
    parameters: {
      type: 'object',
      description: 'per type ("Karbor::Directory") or per resource ("Karbor::Directory#<id>")',
      additionalProperties: { type: 'object' },
    },
  },
} as const;
