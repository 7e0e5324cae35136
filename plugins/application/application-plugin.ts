// Karbor::Application: a group resource whose dependents are the directories and databases
// it names in extra_info ({ directories: [paths], databases: ["host:port/db"] }). Its own
// hooks bracket theirs — prepare_begin before any of them starts (quiesce the application
// here), complete after all of them completed (resume it) — and record when that happened.
import { DIRECTORY_TYPE } from '../directory/directory-plugin';
import { POSTGRES_TYPE } from '../postgresql/postgresql-plugin';
import type { GraphResource } from '../../graph/resource-graph';
import type { HookContext, ResourcePlugin } from '../types';

export const APPLICATION_TYPE = 'Karbor::Application';

function names(resource: GraphResource, key: string): string[] {
  const v = resource.extra_info?.[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

const mark = (what: string) => async (ctx: HookContext) => {
  await ctx.section.updateObject(`${what}.json`, { at: new Date().toISOString() });
};

export function applicationPlugin(): ResourcePlugin {
  return {
    name: 'application',
    type: APPLICATION_TYPE,
    description: 'An application: the directories and databases it is made of, protected together',
    dependentTypes: [DIRECTORY_TYPE, POSTGRES_TYPE],
    schemas: {
      options: { type: 'object', properties: {}, additionalProperties: false },
      restore: { type: 'object', properties: {}, additionalProperties: false },
      savedInfo: { type: 'object' },
    },
    dependents: (resource) =>
      Promise.resolve([
        ...names(resource, 'directories').map((id) => ({
          id,
          type: DIRECTORY_TYPE,
          name: id,
          extra_info: {},
        })),
        ...names(resource, 'databases').map((id) => ({
          id,
          type: POSTGRES_TYPE,
          name: id,
          extra_info: {},
        })),
      ]),
    operations: {
      protect: { onPrepareBegin: mark('quiesced'), onComplete: mark('resumed') },
    },
  };
}
