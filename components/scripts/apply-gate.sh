# Runs before node NODE_NAME (NODE_IP)'s config apply whenever what the apply sends changes
# (CONFIG_DIGEST), and passes only while the node answers and is idle. The Talos provider's dry run,
# which decides between staging a change and applying it live, falls back to auto mode on any error (a
# node that does not answer, one that is rebooting, "another apply configuration is already in
# progress": terraform-provider-talos v0.11.0 talos_machine_configuration_apply_resource.go
# handleRebootPrevention), and auto reboots a v1.13 node at once, undrained, when the change needs a reboot
# (talos v1.13.9 internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go ApplyConfiguration).
# A v1.14 node never reboots on an apply (v1.14.1: AUTO is NO_REBOOT), but one that is rebooting or
# installing still takes no config: the gate is the same for both minors.
require_talosctl
require_kubectl
ep=$(answering_control_plane "$NODE_IP")
use_kubeconfig "$ep"
if ! kubectl get node "$NODE_NAME" >/dev/null 2>&1; then
  log "$NODE_NAME ($NODE_IP): not a Kubernetes node yet, so nothing runs on it: its apply may go ahead"
  exit 0
fi
# MachineStatus: spec.stage (booting, installing, maintenance, running, rebooting, shutting down,
# resetting, upgrading) and spec.status {ready, unmetConditions} (v1.13.9
# pkg/machinery/resources/runtime/machine_status.go); Talos checks readiness only while booting or
# running, and reports every other stage ready (controllers/runtime/machine_status.go).
state=$(talos_get -e "$ep" -n "$NODE_IP" get machinestatus -o json |
  node -e "$TALOS_JSON_STREAM"'
    const [status] = resources(stdin);
    if (!status) throw new Error("talosctl listed no MachineStatus");
    const { stage, status: { ready, unmetConditions = [] } = {} } = status.spec;
    const unmet = unmetConditions.map((c) => `${c.name}: ${c.reason}`).join("; ");
    console.log(stage === "running" && ready === true ? "idle" : `${stage}${ready ? "" : `, not ready (${unmet})`}`);
  ') ||
  fail "$NODE_NAME ($NODE_IP) does not answer (above). Its config apply would fall back to auto mode (on Talos v1.13 it reboots the node undrained when the change needs a reboot), so nothing was applied. Bring it back (talosctl -n $NODE_IP dmesg), then run pulumi up again."
[ "$state" = "idle" ] ||
  fail "$NODE_NAME ($NODE_IP) is $state, not running and ready. Its config apply would fall back to auto mode (on Talos v1.13 it reboots the node undrained when the change needs a reboot), so nothing was applied. Wait for it (talosctl -n $NODE_IP get machinestatus), then run pulumi up again."
log "$NODE_NAME ($NODE_IP): running and ready; its config apply may go ahead"
