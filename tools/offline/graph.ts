/**
 * The dependency graph of a run as the engine reads it: custom resources, each waiting on the custom
 * resources its inputs and dependsOn name (a component stands for every custom resource inside it)
 * and on its provider.
 */
import { TalosCluster } from "../../components";
import { OfflineRun, ResourceRecord } from "./engine";

const COMPOSITION = TalosCluster.TYPE;

export interface DependencyGraph {
  /** Custom resources in registration order: a topological order, as nothing waits on a later one. */
  readonly resources: ResourceRecord[];
  /** The custom resources each one waits on directly. */
  upstream(resource: ResourceRecord): ResourceRecord[];
  /**
   * The building block a resource belongs to: the component directly under the stack, or under a
   * TalosCluster (which only composes them); undefined for resources at those levels themselves.
   */
  topComponent(resource: ResourceRecord): ResourceRecord | undefined;
}

/** The URN of the provider a resource names (its reference is `<urn>::<id>`). */
export function providerUrnOf(resource: ResourceRecord): string | undefined {
  return resource.options.provider?.split("::").slice(0, -1).join("::");
}

export function dependencyGraph(run: OfflineRun): DependencyGraph {
  const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
  const children = new Map<string, ResourceRecord[]>();
  for (const r of run.resources) {
    if (r.parent) {
      children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
    }
  }
  const customUnder = (urn: string): ResourceRecord[] => {
    const r = byUrn.get(urn);
    if (!r) {
      return [];
    }
    return r.custom ? [r] : (children.get(urn) ?? []).flatMap((c) => customUnder(c.urn));
  };
  const isComposition = (urn: string | null) => {
    const r = urn === null ? undefined : byUrn.get(urn);
    return r !== undefined && (r.parent === null || r.type === COMPOSITION);
  };
  const isTop = (r: ResourceRecord) => !r.parent || isComposition(r.parent);
  return {
    resources: run.resources.filter((r) => r.custom).sort((a, b) => a.seq - b.seq),
    upstream(resource) {
      const provider = providerUrnOf(resource);
      const urns = [...resource.dependencies, ...(provider ? [provider] : [])];
      return [...new Set(urns.flatMap(customUnder))];
    },
    topComponent(resource) {
      let r: ResourceRecord | undefined = resource;
      while (r && !isTop(r)) {
        r = r.parent ? byUrn.get(r.parent) : undefined;
      }
      return r && !r.custom ? r : undefined;
    },
  };
}
