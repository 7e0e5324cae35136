// Which host a resource lives on, and so which workers may run its hooks. A directory or a
// database reached through a local socket exists on one machine only: a worker elsewhere
// would protect its own tree of the same path, or fail. Pure code: no I/O.
import { InvalidArgumentError } from '../common/errors';
import type { GraphResource } from './resource-graph';

/** A host name as DNS allows it (labels of letters, digits and hyphens), at most 253 bytes. */
export const HOST_NAME_PATTERN =
  '^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$';
const HOST_NAME = new RegExp(HOST_NAME_PATTERN);

export function isHostName(raw: string): boolean {
  return raw.length <= 253 && HOST_NAME.test(raw);
}

/**
 * A host name in lower case (DNS names ignore case, task queue names do not: `Web-1` and
 * `web-1` are one host), or one clear error naming where it came from.
 */
export function checkHostName(raw: unknown, where: string): string {
  if (typeof raw !== 'string' || !isHostName(raw)) {
    const shown = typeof raw === 'string' ? JSON.stringify(raw.slice(0, 80)) : typeof raw;
    throw new InvalidArgumentError(
      `${where} must be a host name (letters, digits, hyphens and dots), not ${shown}`,
    );
  }
  return raw.toLowerCase();
}

/**
 * The host a resource's hooks must run on: its own `extra_info.host`, else the plugin
 * section's `host` setting for types that live on a host, else none (any worker will do).
 */
export function hostOf(
  resource: Pick<GraphResource, 'id' | 'extra_info'>,
  pinnedType: boolean,
  providerConfig: Record<string, string>,
): string | undefined {
  const own = resource.extra_info?.host;
  if (own !== undefined) return checkHostName(own, `extra_info.host of resource ${resource.id}`);
  if (pinnedType && providerConfig.host) {
    return checkHostName(providerConfig.host, 'the provider setting host');
  }
  return undefined;
}

/** The task queue of one host's workers: hooks of resources that live there. */
export function hostQueue(taskQueue: string, host: string): string {
  return `${taskQueue}@${host}`;
}

/** `waiting for a worker on host a` (or `on hosts a, b`): the CLI and the Web UI say the same. */
export function waitingText(hosts: string[]): string {
  return `waiting for a worker on host${hosts.length > 1 ? 's' : ''} ${hosts.join(', ')}`;
}
