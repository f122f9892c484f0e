/**
 * The lifecycle scripts run by @pulumi/command on the machine running Pulumi (components/scripts/*.sh,
 * each prefixed with common.sh, and the rolling ones with roll.sh). They take their parameters from the environment and the talosconfig
 * from stdin, so no secret ever reaches a command line or the log.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const SCRIPTS = join(__dirname, "..", "scripts");

/** common.sh, then the libraries it names (roll.sh), then the script. */
function script(name: string, libraries: string[] = []): string {
  return ["common", ...libraries, name]
    .map((part) => readFileSync(join(SCRIPTS, `${part}.sh`), "utf8"))
    .join("\n");
}

/** Checks talosctl (of the target's minor) and kubectl when the cluster is created. */
export const PREFLIGHT_SCRIPT = script("preflight");
/** Rolls Talos node by node, then Kubernetes, skipping what is already on target. */
export const ROLLOUT_SCRIPT = script("rollout", ["roll"]);
/** Reboots the nodes whose config waits for a reboot, one at a time, drained, with a health gate after each. */
export const CONFIG_ROLL_SCRIPT = script("config-roll", ["roll"]);
/** Before a node's config apply: passes only when the node answers and is idle (running, ready). */
export const APPLY_GATE_SCRIPT = script("apply-gate");
/** Drains a node (a control plane also leaves etcd) before its VM is deleted, then deletes its Node object. */
export const DECOMMISSION_SCRIPT = script("decommission");

/** Waits for every node Ready and CoreDNS and the CNI rolled out: what Talos skips with CNI "none". */
export const READY_SCRIPT = script("ready");

/** bash (3.2 and up), the same on Linux and macOS. */
export const SCRIPT_INTERPRETER = ["/bin/bash", "-c"];

/**
 * Every lifecycle command's addPreviousOutputInEnv: off. pulumi-command passes the previous run's stdout
 * and stderr to the next run as PULUMI_COMMAND_STDOUT and PULUMI_COMMAND_STDERR (v1.2.1
 * provider/pkg/provider/local/commandOutputs.go), and talosctl writes a progress line per node and step
 * to stderr: over 128 KiB in one variable, Linux refuses to start the command ("argument list too
 * long", pulumi/pulumi-command#285 and #552). The scripts never read them.
 */
export const NO_PREVIOUS_OUTPUT = false;

/**
 * A command's trigger: the SHA-256 of these values (secret or not), not secret itself. Only for values
 * whose hash tells nothing, such as machine configs, whose keys are random and long. `what` names them
 * in the error a value that is not a string (a unit test's mock that left it out) gets.
 */
export function digestOf(values: pulumi.Input<string | undefined>[], what: string): pulumi.Output<string> {
  return pulumi.unsecret(
    pulumi.all(values).apply((resolved) => {
      const hash = createHash("sha256");
      resolved.forEach((value, i) => {
        if (typeof value !== "string") {
          throw new Error(`${what}: value ${i} is not a string (mocks must return it)`);
        }
        hash.update(value).update("\0");
      });
      return hash.digest("hex");
    }),
  );
}
