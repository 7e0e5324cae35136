// `karbor setup`: makes a Temporal cluster ready for Karbor, the way an operator would with
// the `temporal` CLI: the namespace exists, and Karbor's search attributes are registered on
// it (the dev server gets them from flags; a real cluster through the operator service).
// Idempotent: what is already there is left alone; a conflicting type is an error.
import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { InvalidArgumentError, ServiceUnreachableError } from '../common/errors';
import { ALL_SEARCH_ATTRIBUTES } from '../temporal-config/search-attributes';

/** temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD */
const KEYWORD = 2;
/** gRPC status codes we act on. */
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;

export interface SetupStep {
  what: string;
  result: 'created' | 'exists';
}

export interface SetupOptions {
  namespace: string;
  retentionDays: number;
  /** How long to wait for a new namespace to be usable (servers cache namespaces). */
  timeoutMs?: number;
}

const grpcCode = (err: unknown) => (err as { code?: number }).code;

export async function setupCluster(
  connection: Connection,
  opts: SetupOptions,
): Promise<SetupStep[]> {
  const steps: SetupStep[] = [];
  const { namespace } = opts;
  const known = await connection.workflowService
    .describeNamespace({ namespace })
    .then(() => true)
    .catch((err: unknown) => {
      if (grpcCode(err) === NOT_FOUND) return false;
      throw err;
    });
  if (!known) {
    await connection.workflowService
      .registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs(opts.retentionDays * 86_400_000),
        description: 'Karbor protection operations',
      })
      .catch((err: unknown) => {
        if (grpcCode(err) !== ALREADY_EXISTS) throw err;
      });
  }
  steps.push({ what: `namespace ${namespace}`, result: known ? 'exists' : 'created' });

  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    try {
      const listed = await connection.operatorService.listSearchAttributes({ namespace });
      const have = listed.customAttributes ?? {};
      const missing: Record<string, number> = {};
      for (const key of ALL_SEARCH_ATTRIBUTES) {
        const type = have[key.name];
        if (type === undefined) missing[key.name] = KEYWORD;
        else if (Number(type) !== KEYWORD) {
          throw new InvalidArgumentError(
            `search attribute ${key.name} exists on namespace ${namespace} with another type than Keyword: remove it or use another namespace`,
          );
        }
      }
      if (Object.keys(missing).length > 0) {
        await connection.operatorService.addSearchAttributes({
          namespace,
          searchAttributes: missing,
        });
      }
      for (const key of ALL_SEARCH_ATTRIBUTES) {
        steps.push({
          what: `search attribute ${key.name} (Keyword)`,
          result: key.name in missing ? 'created' : 'exists',
        });
      }
      return steps;
    } catch (err) {
      // A namespace just registered is unknown to other services for a few seconds.
      if (grpcCode(err) !== NOT_FOUND || Date.now() > deadline) {
        if (err instanceof InvalidArgumentError) throw err;
        throw new ServiceUnreachableError(
          `registering search attributes on namespace ${namespace}: ${(err as Error).message.split('\n')[0]}`,
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
