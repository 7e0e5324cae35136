import { checkpointActivities } from './checkpoint';
import type { CheckpointActivityDeps } from './checkpoint';
import { withFailureMapping } from './failures';

export type ActivityDeps = CheckpointActivityDeps;

/** All activities, built once per worker from its shared dependencies. */
export function createActivities(deps: ActivityDeps) {
  return withFailureMapping({
    ...checkpointActivities(deps),
  });
}

export type Activities = ReturnType<typeof createActivities>;
export type { CreateCheckpointInput } from './checkpoint';
