/**
 * The longest chain of custom resources in a run: how many operations must happen one after another
 * whatever the parallelism.
 */
import { OfflineRun, ResourceRecord } from "../offline/engine";
import { dependencyGraph } from "../offline/graph";

export interface DependencyChain {
  /** Custom resources on the longest chain. */
  depth: number;
  /** That chain, first resource first. */
  chain: ResourceRecord[];
}

export function longestChain(run: OfflineRun): DependencyChain {
  const graph = dependencyGraph(run);
  const depth = new Map<string, number>();
  const previous = new Map<string, ResourceRecord>();
  const depthOf = (r: ResourceRecord) => depth.get(r.urn) ?? 0;
  let deepest: ResourceRecord | undefined;
  for (const r of graph.resources) {
    let best: ResourceRecord | undefined;
    for (const u of graph.upstream(r)) {
      if (!best || depthOf(u) > depthOf(best)) {
        best = u;
      }
    }
    depth.set(r.urn, 1 + (best ? depthOf(best) : 0));
    if (best) {
      previous.set(r.urn, best);
    }
    if (!deepest || depthOf(r) > depthOf(deepest)) {
      deepest = r;
    }
  }
  const chain: ResourceRecord[] = [];
  for (let r = deepest; r; r = previous.get(r.urn)) {
    chain.unshift(r);
  }
  return { depth: chain.length, chain };
}
