import { UnknownResourceTypeError } from '../common/errors';
import type { ResourcePlugin } from './types';

/** Resource type -> plugin, and plugin name -> plugin (as providers name them). */
export class PluginRegistry {
  private readonly byType = new Map<string, ResourcePlugin>();
  private readonly byName = new Map<string, ResourcePlugin>();

  constructor(plugins: ResourcePlugin[]) {
    for (const p of plugins) {
      if (this.byType.has(p.type)) throw new Error(`two plugins for resource type ${p.type}`);
      if (this.byName.has(p.name)) throw new Error(`two plugins named ${p.name}`);
      this.byType.set(p.type, p);
      this.byName.set(p.name, p);
    }
  }

  forType(type: string): ResourcePlugin {
    const p = this.byType.get(type);
    if (!p) throw new UnknownResourceTypeError(`unknown resource type ${type}`);
    return p;
  }

  byPluginName(name: string): ResourcePlugin | undefined {
    return this.byName.get(name);
  }

  all(): ResourcePlugin[] {
    return [...this.byType.values()];
  }
}
