import { checkpointActivities } from './checkpoint';
import type { CheckpointActivityDeps } from './checkpoint';
import { deleteActivities } from './delete';
import { engineActivities } from './engine';
import { withFailureMapping } from './failures';
import { gcActivities } from './gc';
import type { GcActivityDeps } from './gc';
import { hookActivities } from './hooks';
import { hostActivities } from './hosts';
import type { HookActivityDeps } from './hooks';
import { lifecycleActivities } from './lifecycle';
import { protectableActivities } from './protectables';
import { restoreActivities } from './restore';

export type ActivityDeps = CheckpointActivityDeps & HookActivityDeps & GcActivityDeps;

/** All activities, built once per worker from its shared dependencies. */
export function createActivities(deps: ActivityDeps) {
  return withFailureMapping({
    ...checkpointActivities(deps),
    ...hookActivities(deps),
    ...restoreActivities(deps),
    ...deleteActivities(deps),
    ...protectableActivities(deps),
    ...lifecycleActivities(deps),
    ...gcActivities(deps),
    ...engineActivities(deps),
    ...hostActivities(deps),
  });
}

export type Activities = ReturnType<typeof createActivities>;
export type { CreateCheckpointInput, CheckpointCreated } from './checkpoint';
export type { HookInput } from './hooks';
export type { BeginRestoreInput } from './restore';
export type { BeginDeleteInput } from './delete';
export type { GcInput, GcReport } from './gc';
