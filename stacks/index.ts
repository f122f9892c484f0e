/**
 * The talos-proxmox program: one Talos cluster on Proxmox VE per stack. It reads the stack file and
 * what the last update recorded, and hands both to TalosCluster, which checks them whole and composes
 * the cluster; everything it uses is the package's public API, so it can be copied into a project.
 */
import * as proxmoxve from "@muhlba91/pulumi-proxmoxve";
import { readLastUpdate, TalosCluster } from "../components";
import { readStackConfig } from "./config";

export = async () => {
  // Everything is checked before anything is created: the stack file, and the change from what the
  // last update recorded (a change that would lose quorum, reboot a whole pool at once, replace a VM
  // in place or rebuild the cluster is refused, so nothing changes).
  const { cluster, proxmox } = readStackConfig(await readLastUpdate());
  const proxmoxProvider = new proxmoxve.Provider("proxmox", {
    endpoint: proxmox.endpoint,
    apiToken: proxmox.apiToken,
    insecure: proxmox.insecure,
  });
  const talos = new TalosCluster(cluster.name, cluster, { providers: [proxmoxProvider] });

  return {
    kubeconfig: talos.kubeconfig,
    talosconfig: talos.talosconfig,
    installerImage: talos.installerImage,
    // endpoint, and what the next update reads back.
    ...talos.lastUpdateOutputs,
  };
};
