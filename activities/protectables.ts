import { InvalidArgumentError, UnknownResourceTypeError } from '../common/errors';
import type { GraphResource } from '../graph/resource-graph';
import type { ProviderRegistry } from '../providers/provider-registry';

export interface ProtectableActivityDeps {
  providers: ProviderRegistry;
}

export function protectableActivities({ providers }: ProtectableActivityDeps) {
  return {
    /**
     * Karbor's list_protectable_instances: asks the type's plugin, with the configuration of
     * the given provider (or the first provider that protects the type).
     */
    async listProtectableInstances(input: {
      type: string;
      providerId?: string;
    }): Promise<GraphResource[]> {
      const candidates = input.providerId
        ? [providers.get(input.providerId)]
        : providers.all().filter((p) => p.plugins.has(input.type));
      const provider = candidates.find((p) => p.plugins.has(input.type));
      const plugin = provider?.plugins.get(input.type);
      if (!provider || !plugin) {
        throw new UnknownResourceTypeError(`no provider protects resource type ${input.type}`);
      }
      if (!plugin.listInstances) {
        throw new InvalidArgumentError(`resource type ${input.type} does not list its instances`);
      }
      return plugin.listInstances(provider.config[plugin.name] ?? {});
    },
  };
}
