/**
 * The npm package: built, packed and installed into a separate Pulumi program (test/fixtures/consumer)
 * that type-checks against the published declarations and constructs every component under mocks.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { PROJECT_DIR } from "./harness";

const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", maxBuffer: 64 * 2 ** 20 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

describe("the npm package", function () {
  this.timeout(300_000);

  it("installs into a separate Pulumi program that type-checks and builds the cluster under mocks", () => {
    const work = mkdtempSync(join(tmpdir(), "talos-proxmox-package-"));
    run(NPM, ["run", "build"], PROJECT_DIR);
    const packed = JSON.parse(
      run(NPM, ["pack", "--ignore-scripts", "--json", "--pack-destination", work], PROJECT_DIR),
    ) as { filename: string; files: { path: string }[] }[];
    const files = packed[0].files.map((f) => f.path);
    expect(files).to.include.members([
      "dist/index.js",
      "dist/index.d.ts",
      "dist/testing.js",
      "dist/testing.d.ts",
      "dist/scripts/rollout.sh",
      "LICENSE",
    ]);
    expect(
      files.filter((f) => !/^(dist\/|README\.md$|CHANGELOG\.md$|LICENSE$|package\.json$)/.test(f)),
    ).to.deep.equal([]);

    // The consumer depends on the tarball and on the same SDKs, as a user's program would.
    const ours = JSON.parse(readFileSync(join(PROJECT_DIR, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const consumer = join(work, "consumer");
    cpSync(join(PROJECT_DIR, "test", "fixtures", "consumer"), consumer, { recursive: true });
    writeFileSync(
      join(consumer, "package.json"),
      JSON.stringify({
        name: "consumer",
        private: true,
        dependencies: {
          "talos-proxmox": `file:${join(work, packed[0].filename)}`,
          "@pulumi/pulumi": ours.devDependencies["@pulumi/pulumi"],
          "@pulumi/kubernetes": ours.dependencies["@pulumi/kubernetes"],
          "@muhlba91/pulumi-proxmoxve": ours.dependencies["@muhlba91/pulumi-proxmoxve"],
        },
        devDependencies: { "@types/node": ours.devDependencies["@types/node"] },
      }),
    );
    run(NPM, ["install", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund"], consumer);
    run(
      process.execPath,
      [join(PROJECT_DIR, "node_modules", "typescript", "bin", "tsc"), "-p", consumer],
      consumer,
    );

    const result = JSON.parse(run(process.execPath, [join(consumer, "bin", "index.js")], consumer)) as {
      installerImage: string;
      endpoint: string;
      serviceRanges: Record<string, string>;
      recordedNodes: string[];
      kubeconfigIsSecret: boolean;
      talosconfigIsSecret: boolean;
      types: string[];
      rolloutUpdate: string;
      configRollUpdate: string;
    };
    // talos-proxmox/testing computes the schematic id as Image Factory does (default extensions).
    expect(result.installerImage).to.equal(
      "factory.talos.dev/nocloud-installer/88d1f7a5c4f1d3aba7df787c448c1d3d008ed29cfb34af53fa0df4336a56040b:v1.14.1",
    );
    expect(result.endpoint).to.equal("https://10.30.0.50:6443");
    expect(result.serviceRanges).to.deep.equal({ "range-global": "10.30.0.200-10.30.0.209" });
    expect(result.recordedNodes).to.deep.equal(["cp-1", "w-1"]);
    expect(result.kubeconfigIsSecret).to.equal(true);
    expect(result.talosconfigIsSecret).to.equal(true);
    expect(result.types).to.include.members([
      "talos-proxmox:index:TalosCluster",
      "talos-proxmox:index:TalosImage",
      "talos-proxmox:index:ControlPlane",
      "talos-proxmox:index:WorkerPool",
      "talos-proxmox:index:CiliumCni",
      "talos-proxmox:index:KubeVip",
      "proxmoxve:index/vmLegacy:VmLegacy",
      "talos:machine/bootstrap:Bootstrap",
      "kubernetes:helm.sh/v3:Release",
      "kubernetes:core/v1:Namespace",
    ]);
    // The lifecycle scripts ship with the package.
    expect(result.rolloutUpdate).to.include('upgrade --image "$TARGET_IMAGE"');
    expect(result.configRollUpdate).to.include("reboot --drain --drain-timeout");
  });
});

describe("the project file", () => {
  it("names the stack program's file as main, so a built dist/ can never be run in its place", () => {
    // With a directory, the host passes the entry point "." and @pulumi/pulumi's cmd/run/run.js
    // (3.270.0, hasEntrypoint false) runs package.json's exports["."], the library barrel
    // dist/index.js once `npm run build` or `npm pack` made it: zero resources, so `pulumi up` would
    // delete the stack. The engine lane runs every stack with dist/ present (test/engine/).
    const project = parse(readFileSync(join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as { main?: unknown };
    expect(project.main).to.be.a("string");
    const main = join(PROJECT_DIR, project.main as string);
    expect(existsSync(main) && statSync(main).isFile(), `${main} must be a file`).to.equal(true);
    expect(main).to.equal(join(PROJECT_DIR, "stacks", "index.ts"));
  });
});
