// The plugin contract (Karbor's protectable + protection plugins in one object per resource
// type). Domain code: nothing here knows about Temporal.
import type { BankSection } from '../bank/bank-section';
import type { Hook } from '../graph/hook-schedule';
import type { GraphResource } from '../graph/resource-graph';

export type Operation = 'protect' | 'restore' | 'delete' | 'verify';
export const OPERATIONS: readonly Operation[] = ['protect', 'restore', 'delete', 'verify'];

export type JsonSchema = Record<string, unknown>;

export interface HookProgress {
  bytesDone?: number;
  bytesTotal?: number;
  /** Files the hook works through, when it knows (a directory's pre-scan). */
  filesTotal?: number;
  message?: string;
}

/** Bytes a data hook moved, by kind: counted in the worker's metrics. */
export interface DataStats {
  /** Read from the source while protecting. */
  read?: number;
  /** New to the chunk store (written). */
  stored?: number;
  /** Already in the store, so not written again (deduplicated or unchanged). */
  deduplicated?: number;
  /** Written back while restoring. */
  restored?: number;
  /** Files protected or restored. */
  files?: number;
}

/** Everything a hook may use; I/O beyond this goes through the plugin's own dependencies. */
export interface HookContext {
  operation: Operation;
  /** The checkpoint id (protect, delete, verify) or restore id (restore). */
  operationId: string;
  checkpointId: string;
  providerId: string;
  resource: GraphResource;
  /** Plan parameters for protect; restore parameters for restore. */
  parameters: Record<string, unknown>;
  /** 1 on the first try; Temporal retries count up. */
  attempt: number;
  /** The resource's part of the checkpoint; read-only outside protect. */
  section: BankSection;
  /** Where to restore to, when the operator named a target for this resource. */
  restoreTarget?: string;
  /** The provider's configuration section for this plugin (from its .conf file). */
  providerConfig: Record<string, string>;
  /** The provider's `[repository]` section: where its data goes (absent: the defaults). */
  repositoryConfig?: Record<string, string>;
  /**
   * Records what the operator must know but does not fail the hook (an attribute this
   * system cannot restore, say) as a `warning` event in the operation log.
   */
  warn(message: string): Promise<void>;
  /** Counts the bytes the hook moved (metrics), once the work they stand for is done. */
  record(stats: DataStats): void;
  /** Reports liveness and progress; long hooks call it often. */
  heartbeat(progress?: HookProgress): void;
  /** Aborted when the operation is cancelled or the worker shuts down. */
  signal: AbortSignal;
}

export type HookFn = (ctx: HookContext) => Promise<void>;

/** Karbor's four hooks of one operation; any may be left out. */
export interface OperationHooks {
  onPrepareBegin?: HookFn;
  onPrepareFinish?: HookFn;
  onMain?: HookFn;
  onComplete?: HookFn;
}

/** Which method serves which hook: a fixed table, never names built from strings. */
export const HOOK_METHODS: Record<Hook, keyof OperationHooks> = {
  prepare_begin: 'onPrepareBegin',
  prepare_finish: 'onPrepareFinish',
  main: 'onMain',
  complete: 'onComplete',
};

export interface PluginSchemas {
  /** Plan parameters for this type (protect). */
  options: JsonSchema;
  /** Restore parameters for this type. */
  restore: JsonSchema;
  /** What the plugin records about a protected resource. */
  savedInfo: JsonSchema;
  /**
   * What a restore target for this type must look like (a string schema whose description
   * says it in words); checked by the client before anything starts.
   */
  restoreTarget?: JsonSchema;
}

/** A restore request as a plugin sees it before the restore starts. */
export interface RestoreCheck {
  resource: GraphResource;
  /** The operator's target for this resource, if any (else the original place). */
  target?: string;
  parameters: Record<string, unknown>;
  providerConfig: Record<string, string>;
}

/** One resource type's plugin: how to find instances and dependents, and how to protect. */
export interface ResourcePlugin {
  /** Name providers use in `plugin = <name>`. */
  name: string;
  /** The resource type, e.g. `Karbor::Directory`. */
  type: string;
  description: string;
  /** Types this type's dependents may have (`protectable show`). */
  dependentTypes?: string[];
  /**
   * Instances live on one host (a directory tree): without `extra_info.host`, the plugin
   * section's `host` setting pins them (graph/host-pinning.ts).
   */
  hostPinned?: boolean;
  schemas: PluginSchemas;
  /** The resources this one depends on (its children in the graph). */
  dependents(
    resource: GraphResource,
    providerConfig: Record<string, string>,
  ): Promise<GraphResource[]>;
  listInstances?(providerConfig: Record<string, string>): Promise<GraphResource[]>;
  showInstance?(id: string, providerConfig: Record<string, string>): Promise<GraphResource>;
  operations: Partial<Record<Operation, OperationHooks>>;
  /**
   * Before a restore starts, nothing written yet: throws RestoreRefusedError for a request
   * the plugin cannot carry out (a relative path, a non-empty database without overwrite).
   */
  checkRestore?(req: RestoreCheck): Promise<void>;
}

/** The hooks a plugin implements for an operation, in Karbor's order. */
export function implementedHooks(plugin: ResourcePlugin, op: Operation): Hook[] {
  const hooks = plugin.operations[op];
  if (!hooks) return [];
  return (Object.keys(HOOK_METHODS) as Hook[]).filter((h) => hooks[HOOK_METHODS[h]] !== undefined);
}
