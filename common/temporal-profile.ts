// Where the Temporal cluster is and how to talk to it, read the Temporal way: the standard
// client configuration of `@temporalio/envconfig` (the `temporal` CLI and every SDK read
// the same): TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_* and
// TEMPORAL_GRPC_META_*, over the profile TEMPORAL_PROFILE (default `default`) of
// TEMPORAL_CONFIG_FILE (default ~/.config/temporalio/temporal.toml).
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { InvalidArgumentError, ServiceUnreachableError } from './errors';

/** What a connection needs besides the address: plain data, so a config can be copied. */
export interface TemporalSecurity {
  /** `true`: TLS with the system's roots; an object: custom roots, client pair, name. */
  tls?:
    | boolean
    | {
        serverNameOverride?: string;
        serverRootCACertificate?: Buffer;
        clientCertPair?: { crt: Buffer; key: Buffer };
      };
  apiKey?: string;
  metadata?: Record<string, string>;
}

export interface TemporalProfile {
  address?: string;
  namespace?: string;
  security?: TemporalSecurity;
  /** Where the address came from, for messages. */
  source: string;
}

export function temporalProfile(env: NodeJS.ProcessEnv): TemporalProfile {
  const vars = Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
  let loaded: ReturnType<typeof loadClientConnectConfig>;
  try {
    loaded = loadClientConnectConfig({
      ...(env.TEMPORAL_PROFILE ? { profile: env.TEMPORAL_PROFILE } : {}),
      overrideEnvVars: vars,
    });
  } catch (err) {
    throw new InvalidArgumentError(
      `Temporal client configuration (TEMPORAL_* variables, temporal.toml): ${(err as Error).message}`,
    );
  }
  const { address, tls, apiKey, metadata } = loaded.connectionOptions;
  const security: TemporalSecurity = {};
  if (tls !== undefined) security.tls = tls as TemporalSecurity['tls'];
  if (apiKey !== undefined) {
    if (typeof apiKey !== 'string')
      throw new InvalidArgumentError('TEMPORAL_API_KEY: not a string');
    security.apiKey = apiKey;
  }
  if (metadata && Object.keys(metadata).length > 0) {
    security.metadata = metadata as Record<string, string>;
  }
  return {
    ...(address ? { address } : {}),
    ...(loaded.namespace ? { namespace: loaded.namespace } : {}),
    ...(Object.keys(security).length > 0 ? { security } : {}),
    source: env.TEMPORAL_CONFIG_FILE
      ? `profile ${env.TEMPORAL_PROFILE || 'default'} of ${env.TEMPORAL_CONFIG_FILE}`
      : 'the temporal.toml profile',
  };
}

/** Connection options for the client or the worker: address plus TLS, API key, headers. */
export function connectionOptions(cfg: {
  temporalAddress: string;
  temporal?: TemporalSecurity;
}): { address: string } & TemporalSecurity {
  return { address: cfg.temporalAddress, ...cfg.temporal };
}

/** What TLS a configuration asks for, in words, for error messages. */
export function tlsDescription(security: TemporalSecurity | undefined): string {
  const tls = security?.tls;
  if (!tls) return security?.apiKey ? 'TLS (API key)' : 'no TLS';
  if (tls === true) return 'TLS with the system roots';
  const parts = ['TLS'];
  if (tls.serverRootCACertificate) parts.push('a server CA');
  if (tls.clientCertPair) parts.push('a client certificate');
  return parts.join(', ');
}

/**
 * A failed connection as one line: where, with what TLS, what went wrong, and for a
 * TLS-looking failure which variables set it up.
 */
export function temporalUnreachable(
  cfg: { temporalAddress: string; temporal?: TemporalSecurity },
  err: unknown,
): ServiceUnreachableError {
  const raw = (err as Error)?.message ?? String(err);
  const message = raw.split('\n')[0]!.slice(0, 300);
  const tlsLike =
    /tls|ssl|certificate|handshake|alert|unknown ca|h2 protocol|frame|connection reset|broken pipe|unexpected eof/i.test(
      raw,
    );
  const hint = !tlsLike
    ? ''
    : cfg.temporal?.tls
      ? ' (a TLS problem: check TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH and TEMPORAL_TLS_SERVER_NAME)'
      : ' (the server may require TLS: set TEMPORAL_TLS=true, or TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH for mTLS)';
  return new ServiceUnreachableError(
    `cannot reach Temporal at ${cfg.temporalAddress} with ${tlsDescription(cfg.temporal)}: ${message}${hint}`,
  );
}
