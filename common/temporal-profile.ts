// Where the Temporal cluster is and how to talk to it, read the Temporal way: the standard
// client configuration of `@temporalio/envconfig` (the `temporal` CLI and every SDK read
// the same): TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_* and
// TEMPORAL_GRPC_META_*, over the profile TEMPORAL_PROFILE (default `default`) of
// TEMPORAL_CONFIG_FILE (default ~/.config/temporalio/temporal.toml).
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
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

/** Files the client configuration names, checked first so an error names the variable. */
const FILE_VARIABLES = [
  'TEMPORAL_CONFIG_FILE',
  'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
];

function checkFiles(env: NodeJS.ProcessEnv): void {
  for (const name of FILE_VARIABLES) {
    const file = env[name];
    if (file === undefined) continue;
    try {
      fs.accessSync(file, fs.constants.R_OK);
      if (!fs.statSync(file).isFile()) throw new Error('not a file');
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new InvalidArgumentError(`${name}: cannot read "${file}" (${why})`);
    }
  }
  const cert = env.TEMPORAL_TLS_CLIENT_CERT_PATH ?? env.TEMPORAL_TLS_CLIENT_CERT_DATA;
  const key = env.TEMPORAL_TLS_CLIENT_KEY_PATH ?? env.TEMPORAL_TLS_CLIENT_KEY_DATA;
  if ((cert === undefined) !== (key === undefined)) {
    throw new InvalidArgumentError(
      `a client certificate needs its key: set both TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (only the ${cert === undefined ? 'key' : 'certificate'} is set)`,
    );
  }
}

export function temporalProfile(env: NodeJS.ProcessEnv): TemporalProfile {
  checkFiles(env);
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
      `Temporal client configuration (TEMPORAL_* variables, temporal.toml): ${(err as Error).message.split('\n')[0]}`,
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
 * Why a TLS connection to `address` fails, found by a plain TLS handshake of our own (gRPC
 * only says "failed to connect"): the server wants TLS we do not speak, does not trust our
 * certificate or wants one, or we do not trust its certificate. Undefined when TLS is not
 * the problem (nothing listens, say).
 */
export async function diagnoseTls(
  address: string,
  security: TemporalSecurity | undefined,
): Promise<string | undefined> {
  const m = /^(.*):(\d+)$/.exec(address);
  if (!m) return undefined;
  const [host, port] = [m[1]!.replace(/^\[|\]$/g, ''), Number(m[2])];
  const tlsConf = security?.tls;
  const wanted = tlsConf === true ? {} : tlsConf || undefined;
  const attempt = (opts: tls.ConnectionOptions) =>
    new Promise<{ ok: boolean; error?: string }>((resolve) => {
      const socket = tls.connect({ host, port, ALPNProtocols: ['h2'], ...opts });
      const done = (r: { ok: boolean; error?: string }) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(r);
      };
      // TLS 1.3 reports a missing or refused client certificate after the handshake.
      socket.once('secureConnect', () => setTimeout(() => done({ ok: true }), 300));
      socket.once('error', (err: Error) => done({ ok: false, error: err.message }));
      const timer = setTimeout(() => done({ ok: false, error: 'timeout' }), 3000);
    });
  if (!wanted) {
    const probe = await attempt({ rejectUnauthorized: false });
    return probe.ok || /certificate required|alert/i.test(probe.error ?? '')
      ? 'the server requires TLS: set TEMPORAL_TLS=true, or TEMPORAL_TLS_SERVER_CA_CERT_PATH (and TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH for mTLS)'
      : undefined;
  }
  const probe = await attempt({
    servername: wanted.serverNameOverride ?? (net.isIP(host) ? 'localhost' : host),
    ...(wanted.serverRootCACertificate ? { ca: wanted.serverRootCACertificate } : {}),
    ...(wanted.clientCertPair
      ? { cert: wanted.clientCertPair.crt, key: wanted.clientCertPair.key }
      : {}),
  });
  if (probe.ok || probe.error === 'timeout') return undefined;
  // OpenSSL's `error:0A00045C:SSL routines:fn:reason:file:line…`: the reason says it.
  const e = (probe.error ?? '').replace(/^[\s\S]*?SSL routines:[^:]*:([^:]+):[\s\S]*$/, '$1');
  if (/certificate required|handshake failure|bad certificate/i.test(e) && !wanted.clientCertPair) {
    return `the server requires a client certificate (mTLS): set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (${e})`;
  }
  if (/unknown ca|bad certificate|certificate unknown|decrypt error/i.test(e)) {
    return `the server refused our client certificate: is it signed by a CA the server trusts? (${e})`;
  }
  if (/altnames|hostname/i.test(e)) {
    return `the server's certificate is for another name: set TEMPORAL_TLS_SERVER_NAME (${e})`;
  }
  if (/self[- ]signed|unable to (get|verify)|certificate/i.test(e)) {
    return `the server's certificate is not trusted: set TEMPORAL_TLS_SERVER_CA_CERT_PATH to its CA (${e})`;
  }
  if (/wrong version number|packet length too long|EPROTO/i.test(e)) {
    return `the server does not speak TLS: unset TEMPORAL_TLS and TEMPORAL_TLS_* (${e})`;
  }
  return `TLS failed: ${e}`;
}

/**
 * A failed connection as one line: where, with what TLS, and what went wrong, with the TLS
 * problem named when there is one.
 */
export async function temporalUnreachable(
  cfg: { temporalAddress: string; temporal?: TemporalSecurity },
  err: unknown,
): Promise<ServiceUnreachableError> {
  const raw = (err as Error)?.message ?? String(err);
  if (
    /key values mismatch|no start line|bad decrypt|PEM|DECODER routines|PrivateKeyParse/i.test(raw)
  ) {
    return new ServiceUnreachableError(
      `cannot use the TLS client certificate and key (TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH): ${raw.replace(/^[\s\S]*routines::?/, '')}`,
    );
  }
  const tlsProblem = await diagnoseTls(cfg.temporalAddress, cfg.temporal).catch(() => undefined);
  const message = tlsProblem ?? raw.split('\n')[0]!.slice(0, 300);
  return new ServiceUnreachableError(
    `cannot reach Temporal at ${cfg.temporalAddress} with ${tlsDescription(cfg.temporal)}: ${message}`,
  );
}

/**
 * gRPC's TLS to an IP address (a cluster reached as 10.0.0.5:7233, say) makes Node warn
 * about RFC 6066 on every connection. Drops that warning; any other is one line, `prefix:`
 * first, on stderr.
 */
export function muteTlsIpAddressWarning(prefix: string): void {
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string }) => {
    // The AWS SDK's notice that its releases of 2027 will want Node 22: not about this run
    // (the SDK is pinned), and nine lines on every S3 command.
    if (w.code === 'DEP0123' || w.name === 'NodeVersionSupportWarning') return;
    process.stderr.write(`${prefix}: ${w.name}: ${w.message}\n`);
  });
}
