// The built-in plugins. A new plugin is one folder under plugins/ and one line here.
import { applicationPlugin } from './application/application-plugin';
import { directoryPlugin } from './directory/directory-plugin';
import { noopPlugin } from './noop/noop-plugin';
import type { PostgresPluginDeps } from './postgresql/postgresql-plugin';
import { postgresqlPlugin } from './postgresql/postgresql-plugin';
import type { ResourcePlugin } from './types';

export type PluginDeps = PostgresPluginDeps;

export function builtInPlugins(deps: PluginDeps): ResourcePlugin[] {
  return [noopPlugin(), directoryPlugin(deps), postgresqlPlugin(deps), applicationPlugin()];
}
