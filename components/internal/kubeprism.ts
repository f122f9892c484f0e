/** KubePrism: Talos's node-local, highly available API endpoint (on by default since Talos 1.6). */
export const KUBEPRISM_PORT = 7445;
