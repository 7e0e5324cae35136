import * as path from 'node:path';
import settings from './dev-server.json';
import { ALL_SEARCH_ATTRIBUTES } from './search-attributes';

export { settings as devServerSettings };

/** Where the bootstrap script installs the pinned Temporal CLI. */
export function temporalCliPath(projectRoot: string): string {
  return path.join(projectRoot, '.tools', 'temporal', 'bin', 'temporal');
}

export interface DevServerPorts {
  ip: string;
  port: number;
  uiPort: number;
  /** SQLite file; omitted means in-memory (tests). */
  dbFile?: string;
  namespace?: string;
}

/** Arguments for `temporal server start-dev`, shared by the dev setup and the test harness. */
export function devServerArgs(opts: DevServerPorts): string[] {
  const args = [
    'server',
    'start-dev',
    '--ip',
    opts.ip,
    '--port',
    String(opts.port),
    '--ui-port',
    String(opts.uiPort),
    '--namespace',
    opts.namespace ?? settings.namespace,
    '--log-level',
    'warn',
  ];
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  for (const key of ALL_SEARCH_ATTRIBUTES) {
    args.push('--search-attribute', `${key.name}=Keyword`);
  }
  for (const [k, v] of Object.entries(settings.dynamicConfig)) {
    args.push('--dynamic-config-value', `${k}=${JSON.stringify(v)}`);
  }
  return args;
}

/** The Web UI page of one workflow run. */
export function webUiWorkflowUrl(
  ui: { ip: string; uiPort: number },
  namespace: string,
  workflowId: string,
): string {
  return `http://${ui.ip}:${ui.uiPort}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
