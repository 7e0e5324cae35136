// The baseline for bench/orchestration: one bare activity round trip, measured as a run of
// sequential no-op activities on the same server and worker settings.
import { proxyActivities } from '@temporalio/workflow';

export interface CalibrationActivities {
  ping(): Promise<void>;
}

const { ping } = proxyActivities<CalibrationActivities>({ startToCloseTimeout: '10s' });

export async function calibrate(rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i++) await ping();
}
