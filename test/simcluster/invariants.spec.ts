/**
 * The day-2 invariants the lane checks after every scenario, on timelines that break each of them: a
 * check that could not fail would prove nothing.
 */
import { expect } from "chai";
import { TimelineEntry } from "../../tools/simcluster/cluster";
import { assertInvariants, NODES } from "./harness";

let clock = 0;
const at = (node: string, event: string, detail?: string): TimelineEntry => ({
  ms: clock++,
  node,
  event,
  detail,
});
/** A drained reboot of a node: cordon, eviction, down, up, uncordon. */
const reboot = (node: string): TimelineEntry[] => [
  at(node, "cordoned"),
  at(node, "evicted", `default/workload-${node}`),
  at(node, "down", "reboot"),
  at(node, "up"),
  at(node, "uncordoned"),
];

describe("the day-2 invariants", () => {
  it("hold for drained reboots one node at a time", () => {
    expect(() =>
      assertInvariants([...reboot("w-1"), ...reboot("cp-1"), ...reboot("cp-2")], NODES),
    ).to.not.throw();
  });

  it("catch a node that goes down undrained", () => {
    const cordonedOnly = [at("w-1", "cordoned"), at("w-1", "down", "reboot")];
    expect(() => assertInvariants(cordonedOnly, NODES)).to.throw(/w-1 went down undrained/);
  });

  it("catch two control planes down at once", () => {
    const overlapping = [...reboot("cp-1").slice(0, 3), ...reboot("cp-2").slice(0, 3)];
    expect(() => assertInvariants(overlapping, NODES)).to.throw(/control planes down together/);
  });

  it("catch more workers down than the batch allows", () => {
    const overlapping = [...reboot("w-1").slice(0, 3), ...reboot("w-2").slice(0, 3)];
    expect(() => assertInvariants(overlapping, NODES, 2)).to.not.throw();
    expect(() => assertInvariants(overlapping, NODES, 1)).to.throw(/workers down together/);
  });

  it("catch etcd losing quorum: a control plane down while another member is unhealthy", () => {
    const timeline = [at("cp-3", "fault-set", "etcd-unhealthy"), ...reboot("cp-1").slice(0, 3)];
    expect(() => assertInvariants(timeline, NODES)).to.throw(/etcd quorum lost: 1 of 3 healthy/);
  });

  it("count a reset control plane out of etcd and out of the cluster", () => {
    const reset = (node: string) => [
      at(node, "cordoned"),
      at(node, "evicted"),
      at(node, "etcd-left"),
      at(node, "down", "reset"),
    ];
    expect(() => assertInvariants([...reset("cp-1"), ...reset("cp-2")], NODES)).to.not.throw();
  });
});
