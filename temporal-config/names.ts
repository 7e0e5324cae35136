// Names and bounds every entry point needs, kept apart from the Temporal SDK so a CLI
// command that only reads the bank does not load it.

/** The task queue every Karbor worker polls unless KARBOR_TASK_QUEUE says otherwise. */
export const DEFAULT_TASK_QUEUE = 'karbor-protection';
export const DEFAULT_NAMESPACE = 'default';

/** Hooks in flight at once per operation, unless the caller asks otherwise. */
export const DEFAULT_HOOK_CONCURRENCY = 32;
/** The most a caller may ask for: far below Temporal's 2,000 pending activities per run. */
export const MAX_HOOK_CONCURRENCY = 1000;

/** How long a hook of a host-pinned resource waits for a worker of its host (KARBOR_HOST_WAIT_S). */
export const DEFAULT_HOST_WAIT_SECONDS = 1800;
