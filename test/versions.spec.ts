/**
 * A Talos move against the last update (checkTalosMove): one minor per update, never down one, and a
 * Kubernetes that both minors run while the nodes run both. The stack-level cases are in the
 * change-impact contract (test/change-contract.spec.ts); these are the rule's edges.
 */
import { expect } from "chai";
import { checkTalosMove } from "../components/internal/versions";

const messages = (...args: Parameters<typeof checkTalosMove>) =>
  checkTalosMove(...args).map((p) => `${p.path}: ${p.message}`);

describe("a Talos move against the last update", () => {
  it("lets a patch move, up or down, and the next minor with a Kubernetes both run", () => {
    expect(messages("v1.14.0", "v1.14.1", "1.36.1", "1.36.1", "talosVersion")).to.deep.equal([]);
    expect(messages("v1.14.1", "v1.14.0", "1.36.1", "1.36.1", "talosVersion")).to.deep.equal([]);
    expect(messages("v1.13.9", "v1.14.1", "1.36.1", "1.36.3", "talosVersion")).to.deep.equal([]);
    // A stack recorded before the versions were: nothing to compare Kubernetes with.
    expect(messages("v1.13.9", "v1.14.1", undefined, "1.36.1", "talosVersion")).to.deep.equal([]);
  });

  it("refuses a minor down, with etcd's downgrade as the way back", () => {
    const [message] = messages("v1.14.1", "v1.13.9", "1.36.1", "1.36.1", "talosVersion");
    expect(message).to.match(
      /^talosVersion: "v1\.13\.9" would take the running cluster from v1\.14\.1 down to v1\.13: its etcd \(3\.7\.1\)/,
    );
    expect(message).to.include("talosctl etcd downgrade validate, then enable");
  });

  it("refuses a minor skipped, naming the one between", () => {
    expect(messages("v1.12.6", "v1.14.1", "1.35.0", "1.35.0", "talosVersion")).to.deep.equal([
      'talosVersion: "v1.14.1" would take the running cluster from v1.12.6 over v1.13: the roll moves Talos one minor per update. Set the newest v1.13.x release and run pulumi up, then go on to v1.14.1.',
    ]);
  });

  it("refuses a Kubernetes the new minor does not run, and a move outside both in the same update", () => {
    expect(messages("v1.13.9", "v1.14.1", "1.31.4", "1.32.3", "talosVersion")).to.deep.equal([
      'talosVersion: "v1.14.1": the cluster runs Kubernetes 1.31.4, and its nodes would run it on both minors through the roll, but both run only 1.32 to 1.36. Keep talosVersion at v1.13.9, move kubernetesVersion into 1.32 to 1.36 and run pulumi up, then move Talos.',
    ]);
    expect(messages("v1.13.9", "v1.14.1", "1.36.1", "1.37.0", "talosVersion")).to.deep.equal([
      "kubernetesVersion: is 1.37.0, outside 1.32 to 1.36, which both Talos v1.13 and v1.14 run, in the update that moves Talos from v1.13.9 to v1.14.1: that update changes one thing at a time, so a roll that stops halfway never leaves nodes of both minors behind a Kubernetes target the older cannot run. Keep kubernetesVersion at 1.36.1 for this update, then move it once every node runs v1.14.",
    ]);
  });
});
