/**
 * The Talos provider wrapper speaks the real provider's language: tokens, property names, plugin
 * version and download URL, and secretness, as FACTS.md lists them.
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import * as talos from "../components/talos";
import { SECRET } from "../tools/offline/engine";
import { one, ofType, runComponents, succeeded } from "./harness";

const PIN = { version: "0.8.1", pluginDownloadURL: "github://api.github.com/pulumiverse" };

describe("Talos provider wrapper", () => {
  const client = { caCertificate: "ca", clientCertificate: "crt", clientKey: "key" };

  async function runAll() {
    return succeeded(
      await runComponents(() => {
        const secrets = new talos.machine.Secrets("s", { talosVersion: "v1.13" });
        const config = talos.machine.getConfigurationOutput({
          clusterName: "c",
          clusterEndpoint: "https://10.0.0.10:6443",
          machineSecrets: secrets.machineSecrets,
          machineType: "controlplane",
          configPatches: ["machine: {}"],
          talosVersion: "v1.13",
          kubernetesVersion: "1.36.1",
        });
        const apply = new talos.machine.ConfigurationApply("a", {
          node: "10.0.0.11",
          clientConfiguration: secrets.clientConfiguration,
          machineConfigurationInput: config.machineConfiguration,
          configPatches: ["cluster: {}"],
          applyMode: "auto",
          onDestroy: { graceful: true, reset: true, reboot: false },
          timeouts: { create: "20m" },
        });
        const bootstrap = new talos.machine.Bootstrap("b", {
          node: "10.0.0.11",
          clientConfiguration: secrets.clientConfiguration,
        });
        const kubeconfig = new talos.cluster.Kubeconfig("k", {
          node: "10.0.0.11",
          clientConfiguration: client,
        });
        const talosconfig = talos.client.getConfigurationOutput({
          clusterName: "c",
          clientConfiguration: client,
          endpoints: ["10.0.0.11"],
          nodes: ["10.0.0.11"],
        });
        const health = talos.cluster.getHealthOutput({
          clientConfiguration: client,
          controlPlaneNodes: ["10.0.0.11"],
          endpoints: ["10.0.0.11"],
          workerNodes: ["10.0.0.21"],
          skipKubernetesChecks: false,
        });
        const schematic = new talos.imagefactory.Schematic("sch", { schematic: "customization: {}\n" });
        const urls = talos.imagefactory.getUrlsOutput({
          talosVersion: "v1.13.9",
          schematicId: schematic.id,
          platform: "nocloud",
          architecture: "amd64",
        });
        return {
          machineSecrets: secrets.machineSecrets,
          clientConfiguration: secrets.clientConfiguration,
          machineConfiguration: config.machineConfiguration,
          appliedConfiguration: apply.machineConfiguration,
          applyHash: apply.machineConfigurationHash,
          bootstrapNode: bootstrap.node,
          kubeconfigRaw: kubeconfig.kubeconfigRaw,
          kubernetesClientConfiguration: kubeconfig.kubernetesClientConfiguration,
          talosconfig: talosconfig.talosConfig,
          health: health.id,
          installer: urls.urls.installer,
          secretOutputs: pulumi
            .all([
              pulumi.isSecret(secrets.machineSecrets),
              pulumi.isSecret(config),
              pulumi.isSecret(kubeconfig.kubeconfigRaw),
              pulumi.isSecret(talosconfig),
            ])
            .apply((flags) => flags),
        };
      }),
    );
  }

  it("registers resources with the provider's exact tokens and the pinned plugin", async () => {
    const run = await runAll();
    const tokens = {
      s: "talos:machine/secrets:Secrets",
      a: "talos:machine/configurationApply:ConfigurationApply",
      b: "talos:machine/bootstrap:Bootstrap",
      k: "talos:cluster/kubeconfig:Kubeconfig",
      sch: "talos:imageFactory/schematic:Schematic",
    };
    for (const [name, type] of Object.entries(tokens)) {
      const record = one(run, type, name);
      expect(record.options.version, type).to.equal(PIN.version);
      expect(record.options.pluginDownloadURL, type).to.equal(PIN.pluginDownloadURL);
    }
  });

  it("calls invokes with the provider's exact tokens and camelCase arguments", async () => {
    const run = await runAll();
    const byToken = Object.fromEntries(run.invokes.map((i) => [i.token, i.args]));
    expect(Object.keys(byToken)).to.have.members([
      "talos:machine/getConfiguration:getConfiguration",
      "talos:client/getConfiguration:getConfiguration",
      "talos:cluster/getHealth:getHealth",
      "talos:imageFactory/getUrls:getUrls",
    ]);
    expect(byToken["talos:machine/getConfiguration:getConfiguration"]).to.include.keys(
      "clusterName",
      "clusterEndpoint",
      "machineSecrets",
      "machineType",
      "configPatches",
      "talosVersion",
      "kubernetesVersion",
    );
    expect(byToken["talos:client/getConfiguration:getConfiguration"]).to.have.keys(
      "clusterName",
      "clientConfiguration",
      "endpoints",
      "nodes",
    );
    expect(byToken["talos:cluster/getHealth:getHealth"]).to.have.keys(
      "clientConfiguration",
      "controlPlaneNodes",
      "endpoints",
      "workerNodes",
      "skipKubernetesChecks",
    );
    expect(byToken["talos:imageFactory/getUrls:getUrls"]).to.have.keys(
      "talosVersion",
      "schematicId",
      "platform",
      "architecture",
    );
  });

  it("sends camelCase inputs and keeps the configuration input secret", async () => {
    const run = await runAll();
    const apply = one(run, "talos:machine/configurationApply:ConfigurationApply", "a");
    expect(apply.inputs).to.include({
      node: "10.0.0.11",
      applyMode: "auto",
      machineConfigurationInput: SECRET,
    });
    expect(apply.inputs.clientConfiguration).to.equal(SECRET);
    expect(apply.inputs.onDestroy).to.deep.equal({ graceful: true, reset: true, reboot: false });
    expect(apply.inputs.timeouts).to.deep.equal({ create: "20m" });
    expect(one(run, "talos:machine/secrets:Secrets", "s").inputs).to.deep.equal({ talosVersion: "v1.13" });
    expect(one(run, "talos:cluster/kubeconfig:Kubeconfig", "k").inputs).to.include.keys(
      "clientConfiguration",
      "node",
    );
  });

  it("declares every credential output secret, as the engine must return them", async () => {
    const run = await runAll();
    const secretOutputs = (type: string) => ofType(run, type)[0].options.additionalSecretOutputs;
    expect(secretOutputs("talos:machine/secrets:Secrets")).to.have.members([
      "machineSecrets",
      "clientConfiguration",
    ]);
    expect(secretOutputs("talos:machine/configurationApply:ConfigurationApply")).to.have.members([
      "machineConfiguration",
      "machineConfigurationInput",
    ]);
    expect(secretOutputs("talos:cluster/kubeconfig:Kubeconfig")).to.have.members([
      "kubeconfigRaw",
      "kubernetesClientConfiguration",
    ]);
    for (const key of [
      "machineSecrets",
      "clientConfiguration",
      "machineConfiguration",
      "appliedConfiguration",
      "kubeconfigRaw",
      "kubernetesClientConfiguration",
      "talosconfig",
    ]) {
      expect(run.outputs?.[key], key).to.equal(SECRET);
    }
    expect(run.outputs?.bootstrapNode).to.equal("10.0.0.11");
    expect(run.outputs?.installer).to.equal(
      "factory.talos.dev/nocloud-installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1.13.9",
    );
  });

  it("fails loudly on an invoke the offline engine does not model", async () => {
    const run = await runComponents(() =>
      pulumi.runtime.invokeOutput("talos:machine/getDisks:getDisks", { node: "10.0.0.11" }),
    );
    expect(String(run.error)).to.match(/no model of invoke talos:machine\/getDisks:getDisks/);
  });
});
