/**
 * How long the roll of a Talos version takes, from what components/scripts/rollout.sh does: workers in
 * batches of `maxParallelWorkers` and control planes one by one, each batch or node followed by a
 * health gate, then the config applies of the new installer image (in parallel, no reboot).
 */
import { UPGRADE_LATENCIES } from "./latencies";

export interface RollingUpgradeInput {
  controlPlanes: number;
  workers: number;
  maxParallelWorkers: number;
}

export function rollingUpgradeSeconds(input: RollingUpgradeInput): number {
  const perNode = UPGRADE_LATENCIES.node.seconds + UPGRADE_LATENCIES.healthGate.seconds;
  const workerBatches = Math.ceil(input.workers / input.maxParallelWorkers);
  return (workerBatches + input.controlPlanes) * perNode + UPGRADE_LATENCIES.configApply.seconds;
}
