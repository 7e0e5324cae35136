// JSON Schemas of the wire documents the CLI prints with --json (DESIGN.md section 3), so
// scripts can rely on their shape; `karbor schema <document>` prints them, and the tests
// check real documents against them.
import { PLAN_SCHEMA } from './plan-schema';

const DRAFT = 'http://json-schema.org/draft-07/schema#';
const TEXT = { type: 'string' };
const STRING_MAP = { type: 'object', additionalProperties: { type: 'string' } };
const DATE = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' };

export const CHECKPOINT_SCHEMA = {
  $schema: DRAFT,
  title: 'Karbor checkpoint',
  type: 'object',
  required: [
    'version',
    'id',
    'status',
    'owner_id',
    'provider_id',
    'project_id',
    'protection_plan',
    'resource_graph',
    'extra_info',
    'created_at',
    'timestamp',
    'resources_status',
  ],
  properties: {
    version: { type: 'integer' },
    id: TEXT,
    status: {
      enum: ['protecting', 'available', 'error', 'deleting', 'deleted', 'error-deleting'],
    },
    owner_id: TEXT,
    provider_id: TEXT,
    project_id: TEXT,
    protection_plan: {
      type: 'object',
      required: ['id', 'name', 'provider_id', 'resources'],
      properties: {
        id: TEXT,
        name: TEXT,
        provider_id: TEXT,
        resources: PLAN_SCHEMA.properties.resources,
        parameters: PLAN_SCHEMA.properties.parameters,
      },
    },
    resource_graph: { type: 'object' },
    extra_info: { type: 'object' },
    created_at: DATE,
    timestamp: { type: 'integer' },
    resources_status: STRING_MAP,
    reason: TEXT,
  },
} as const;

export const RESTORE_SCHEMA = {
  $schema: DRAFT,
  title: 'Karbor restore record',
  type: 'object',
  required: [
    'id',
    'project_id',
    'provider_id',
    'checkpoint_id',
    'restore_target',
    'parameters',
    'status',
    'resources_status',
    'resources_reason',
    'created_at',
  ],
  properties: {
    id: TEXT,
    project_id: TEXT,
    provider_id: TEXT,
    checkpoint_id: TEXT,
    restore_target: STRING_MAP,
    destinations: STRING_MAP,
    parameters: { type: 'object', additionalProperties: { type: 'object' } },
    status: { enum: ['in_progress', 'success', 'failure'] },
    resources_status: STRING_MAP,
    resources_reason: STRING_MAP,
    created_at: DATE,
    reason: TEXT,
  },
} as const;

export const PROVIDER_SCHEMA = {
  $schema: DRAFT,
  title: 'Karbor provider',
  type: 'object',
  required: ['id', 'name', 'description', 'extended_info_schema'],
  properties: {
    id: TEXT,
    name: TEXT,
    description: TEXT,
    extended_info_schema: {
      type: 'object',
      required: ['options_schema', 'restore_schema', 'saved_info_schema'],
      properties: {
        options_schema: { type: 'object' },
        restore_schema: { type: 'object' },
        saved_info_schema: { type: 'object' },
        restore_target_schema: { type: 'object' },
      },
    },
  },
} as const;

/** Every document `karbor schema` knows, by the name it takes. */
export const WIRE_SCHEMAS = {
  plan: PLAN_SCHEMA,
  checkpoint: CHECKPOINT_SCHEMA,
  restore: RESTORE_SCHEMA,
  provider: PROVIDER_SCHEMA,
} as const;
