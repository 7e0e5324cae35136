// Where the bank's Redis is: one server, a Sentinel group, or a Cluster, named by one URL so
// every entry point takes the same REDIS_URL.
//   redis://[user:pass@]host:port[/db]        one server (rediss:// for TLS)
//   redis+sentinel://[user:pass@]h1:p1,h2:p2,h3:p3/<primary name>[/db]
//                                             the primary that Sentinel names; failover follows
//   redis+cluster://[user:pass@]h1:p1,h2:p2   a Cluster (every bank key carries the {prefix}
//                                             hash tag, so one bank lives in one slot)
import { InvalidArgumentError } from './errors';

export interface RedisEndpoint {
  host: string;
  port: number;
}

export type RedisTarget =
  | { kind: 'standalone'; url: string }
  | {
      kind: 'sentinel';
      sentinels: RedisEndpoint[];
      name: string;
      db: number;
      username?: string;
      password?: string;
    }
  | { kind: 'cluster'; nodes: RedisEndpoint[]; username?: string; password?: string };

const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

function endpoints(list: string, url: string, name: string): RedisEndpoint[] {
  const out = list.split(',').map((hp) => {
    const m = HOST_PORT.exec(hp);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new InvalidArgumentError(`${name}: "${hp}" in ${redactUrl(url)} is not host:port`);
    }
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  });
  return out;
}

/** Parses and checks a bank Redis URL; one clear error naming the variable otherwise. */
export function parseRedisUrl(raw: string, name = 'environment variable REDIS_URL'): RedisTarget {
  const usage = `${name} must be redis://host:port[/db], redis+sentinel://host:port[,host:port…]/<primary name>[/db] or redis+cluster://host:port[,host:port…], not "${redactUrl(raw).slice(0, 200)}"`;
  const m =
    /^(redis|rediss|redis\+sentinel|redis\+cluster):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)(\/[^?#]*)?$/.exec(
      raw,
    );
  if (!m) throw new InvalidArgumentError(usage);
  const [, scheme, user, pass, hosts, rest] = m;
  const auth = {
    ...(user ? { username: decodeURIComponent(user) } : {}),
    ...(pass !== undefined ? { password: decodeURIComponent(pass) } : {}),
  };
  const parts = (rest ?? '').split('/').filter((p) => p !== '');
  const dbOf = (s: string | undefined) => {
    if (s === undefined) return 0;
    if (!/^\d{1,2}$/.test(s)) throw new InvalidArgumentError(`${usage} (the db is a number)`);
    return Number(s);
  };
  if (scheme === 'redis' || scheme === 'rediss') {
    endpoints(hosts!, raw, name);
    if (parts.length > 1) throw new InvalidArgumentError(usage);
    dbOf(parts[0]);
    return { kind: 'standalone', url: raw };
  }
  if (scheme === 'redis+sentinel') {
    if (parts.length < 1 || parts.length > 2) {
      throw new InvalidArgumentError(`${usage} (the primary's name is missing)`);
    }
    return {
      kind: 'sentinel',
      sentinels: endpoints(hosts!, raw, name),
      name: decodeURIComponent(parts[0]!),
      db: dbOf(parts[1]),
      ...auth,
    };
  }
  if (parts.length > 0) throw new InvalidArgumentError(`${usage} (a Cluster has no db)`);
  return { kind: 'cluster', nodes: endpoints(hosts!, raw, name), ...auth };
}

/** Hides a password in a Redis URL before it reaches a log line. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):([^@/]*)@/, '//$1:***@');
}
