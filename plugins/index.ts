// The built-in plugins. A new plugin is one folder under plugins/ and one line here.
import { noopPlugin } from './noop/noop-plugin';
import type { ResourcePlugin } from './types';

export interface PluginDeps {
  /** Where plugins that keep bulk data put it (KARBOR_DATA_DIR). */
  dataDir?: string;
}

export function builtInPlugins(_deps: PluginDeps = {}): ResourcePlugin[] {
  return [noopPlugin()];
}
