// The built-in plugins. A new plugin is one folder under plugins/ and one line here.
import type { DataPluginDeps } from './chunk-store/provider-store';
import { directoryPlugin } from './directory/directory-plugin';
import { noopPlugin } from './noop/noop-plugin';
import type { ResourcePlugin } from './types';

export type PluginDeps = DataPluginDeps;

export function builtInPlugins(deps: PluginDeps): ResourcePlugin[] {
  return [noopPlugin(), directoryPlugin(deps)];
}
