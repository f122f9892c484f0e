import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AliasResolver } from "../tools/offline/aliases";
import { changesBetween } from "../tools/offline/changes";
import { buildEngine, engineUpdate, Registration, registrationOf } from "../tools/engine-aliases/engine";
import { PROJECT_DIR, runStack, succeeded } from "./harness";

/**
 * Both example stacks as talos-proxmox 0.3 registered them, before TalosCluster: the same components
 * at the top of the stack (from `npm run plan -- --stack <name> --out` at commit 0310fab, resources.json
 * without inputs: with the same inputs, only the URNs can make a difference).
 */
function registrationsBefore(stack: "homelab" | "prod"): Registration[] {
  const file = join(PROJECT_DIR, "test", "fixtures", "urns", `${stack}.json`);
  return JSON.parse(readFileSync(file, "utf8")) as Registration[];
}

function urnsBefore(stack: "homelab" | "prod"): string[] {
  return registrationsBefore(stack).map((r) => r.urn);
}

/** What is new since 0.3: the TalosCluster component and each node's apply gate (its create does nothing). */
function newSince03(stack: string, resources: { urn: string; name: string }[]): string[] {
  return [
    `urn:pulumi:${stack}::talos-proxmox::talos-proxmox:index:TalosCluster::${stack}`,
    ...resources.filter((r) => r.name.endsWith("-apply-gate")).map((r) => r.urn),
  ].sort();
}

describe("URNs across releases", () => {
  for (const stack of ["homelab", "prod"] as const) {
    it(`${stack}: a stack updated by 0.3 keeps every resource; only the TalosCluster component and the apply gates are new`, async () => {
      const olds = urnsBefore(stack);
      const run = succeeded(await runStack(stack, undefined, {}, { olds }));
      const created = run.resources.filter((r) => r.old === undefined).map((r) => r.urn);
      expect(created.sort(), "resources the engine would create").to.deep.equal(
        newSince03(stack, run.resources),
      );
      const found = run.resources.flatMap((r) => (r.old ? [r.old] : []));
      expect([...found].sort(), "old resources, each found once (none deleted)").to.deep.equal(
        [...olds].sort(),
      );
      // Everything under the component is found by an alias, its own or one inherited from its parent.
      const byAlias = run.resources.filter((r) => r.old !== undefined && r.old !== r.urn);
      expect(byAlias.map((r) => r.urn)).to.deep.equal(
        run.resources
          .filter((r) => r.urn.includes("talos-proxmox:index:TalosCluster$") && r.old !== undefined)
          .map((r) => r.urn),
      );
    });
  }
});

describe("URNs across releases, in Pulumi's own engine (tools/engine-aliases)", function () {
  // Builds pulumi/pulumi pkg/v3 once per version: minutes on a new machine, then cached.
  this.timeout(20 * 60_000);
  let binary: string;
  before(() => {
    binary = buildEngine();
  });

  for (const stack of ["homelab", "prod"] as const) {
    it(`${stack}: the update from 0.3 creates only the TalosCluster component and the apply gates; every other step is a same`, async () => {
      const offline = succeeded(await runStack(stack, undefined, {}, { olds: urnsBefore(stack) }));
      const after = offline.resources.map(registrationOf);
      const update = engineUpdate(binary, {
        project: "talos-proxmox",
        stack,
        before: registrationsBefore(stack),
        after,
      });
      // The engine names every resource as the offline engine does.
      expect(Object.entries(update.urns).filter(([engine, offline]) => engine !== offline)).to.deep.equal([]);
      const notSame = update.steps.filter((s) => s.op !== "same");
      expect(notSame.map((s) => s.op)).to.deep.equal(notSame.map(() => "create"));
      expect(notSame.map((s) => s.urn).sort(), "steps other than same").to.deep.equal(
        newSince03(stack, offline.resources),
      );
      // A step for every resource, and for the default providers the engine adds (those are sames too).
      const defaults = /::pulumi:providers:[^:]+::default(_[\d_]+)?$/;
      const resources = update.steps.map((s) => s.urn).filter((urn) => !defaults.test(urn));
      expect(resources.sort()).to.deep.equal(after.map((r) => r.urn).sort());
      // The offline engine's model of the alias rules finds the same old state for every resource.
      const engineOld = new Map(update.steps.map((s) => [s.urn, s.old]));
      expect(offline.resources.filter((r) => engineOld.get(r.urn) !== r.old)).to.deep.equal([]);
    });
  }

  it("would replace the cluster without the aliases: the check can fail", async () => {
    const after = succeeded(await runStack("homelab")).resources.map((r) => ({
      ...registrationOf(r),
      aliases: undefined,
    }));
    const update = engineUpdate(binary, {
      project: "talos-proxmox",
      stack: "homelab",
      before: registrationsBefore("homelab"),
      after,
    });
    const ops = new Set(update.steps.map((s) => s.op));
    expect([...ops]).to.include.members(["create", "delete"]);
    expect(update.steps.filter((s) => s.op === "create")).to.have.length(after.length - 2);
  });
});

describe("a change preview across releases (plan --against)", () => {
  it("compares each resource with the one the engine finds by alias: no change shows", async () => {
    const olds = urnsBefore("prod");
    const run = succeeded(await runStack("prod", undefined, {}, { olds }));
    // The same resources as 0.3 recorded them: same inputs, their old URNs.
    const before = run.resources
      .filter((r) => r.old)
      .map((r) => ({ ...r, urn: r.old as string, old: undefined }));
    expect(changesBetween(before, run.resources).map((c) => [c.change, c.name])).to.deep.equal(
      run.resources.filter((r) => r.name.endsWith("-apply-gate")).map((r) => ["create", r.name]),
    );
    // Without the URNs of the last update, every custom resource would show as a create and a delete.
    const unmatched = run.resources.map((r) => ({ ...r, old: undefined }));
    expect(changesBetween(before, unmatched).length).to.be.greaterThan(olds.length);
  });
});

describe("the engine's alias rules, as modelled", () => {
  const urn = (qualified: string, name: string) => `urn:pulumi:s::p::${qualified}::${name}`;

  it("matches a resource's own URN first, then its aliases", () => {
    const resolver = new AliasResolver("s", "p", new Set([urn("a:b:C", "x"), urn("a:b:D", "x")]));
    expect(resolver.resolve(urn("a:b:C", "x"), "x", "a:b:C", null, [])).to.equal(urn("a:b:C", "x"));
    const renamed = { type: "a:b:D" };
    expect(resolver.resolve(urn("a:b:E", "x"), "x", "a:b:E", null, [renamed])).to.equal(urn("a:b:D", "x"));
  });

  it("gives children of a parent found by an alias the parent's old type chain and name prefix", () => {
    const parentOld = urn("t:i:Cp", "old");
    const childOld = urn("t:i:Cp$c:l:Cmd", "old-bootstrap");
    const resolver = new AliasResolver("s", "p", new Set([parentOld, childOld]));
    const parentNew = urn("t:i:Cluster$t:i:Cp", "new");
    const moved = { noParent: true, name: "old" };
    expect(resolver.resolve(parentNew, "new", "t:i:Cp", urn("t:i:Cluster", "new"), [moved])).to.equal(
      parentOld,
    );
    const childNew = urn("t:i:Cluster$t:i:Cp$c:l:Cmd", "new-bootstrap");
    expect(resolver.resolve(childNew, "new-bootstrap", "c:l:Cmd", parentNew, [])).to.equal(childOld);
  });

  it("inherits nothing from a parent found by its own URN", () => {
    const resolver = new AliasResolver("s", "p", new Set([urn("t:i:Cp", "a"), urn("t:i:Cp$c:l:Cmd", "a-x")]));
    expect(resolver.resolve(urn("t:i:Cp", "a"), "a", "t:i:Cp", null, [])).to.equal(urn("t:i:Cp", "a"));
    // A child under another chain than its old one is a create: the parent carried no alias.
    expect(
      resolver.resolve(urn("t:i:Cp$c:l:Other", "a-x"), "a-x", "c:l:Other", urn("t:i:Cp", "a"), []),
    ).to.equal(undefined);
  });

  it("takes a parent of the root stack for no parent", () => {
    const resolver = new AliasResolver("s", "p", new Set([urn("t:i:Cp", "a")]));
    const toRoot = { parentUrn: urn("pulumi:pulumi:Stack", "p-s") };
    expect(
      resolver.resolve(urn("t:i:Cluster$t:i:Cp", "a"), "a", "t:i:Cp", urn("t:i:Cluster", "c"), [toRoot]),
    ).to.equal(urn("t:i:Cp", "a"));
  });
});
