/**
 * The README agrees with the code where it is text: the walkthrough's plugins, the Node.js versions, the
 * version story (README, CHANGELOG, package.json, code comments), the day-2 plan recipe (run for real in
 * a throwaway git repository) and the runbook for a failed first `pulumi up`.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parse } from "yaml";
import { TALOS_PROVIDER_VERSION } from "../components/talos/provider";
import { ResourceRecord } from "../tools/offline/engine";
import { exampleCluster, ofType, PROJECT_DIR, runStack, succeeded, TYPES } from "./harness";

const read = (...path: string[]) => readFileSync(join(PROJECT_DIR, ...path), "utf8");
const readme = () => read("README.md");
const packageLock = () =>
  JSON.parse(read("package-lock.json")) as {
    version: string;
    packages: Record<string, { version: string; engines?: Record<string, string> }>;
  };
const packageJson = () =>
  JSON.parse(read("package.json")) as {
    version: string;
    engines: Record<string, string>;
    dependencies: Record<string, string>;
  };

/** The README's text from a heading to the next heading of the same or a higher level. */
function section(text: string, heading: string): string {
  const start = text.indexOf(`\n${heading}\n`);
  expect(start, `README section ${heading}`).to.be.greaterThan(-1);
  const level = /^#+/.exec(heading)![0].length;
  const rest = text.slice(start + heading.length + 2);
  const next = new RegExp(`^#{1,${level}} `, "m").exec(rest);
  return next ? rest.slice(0, next.index) : rest;
}

/** The first fenced block of `lang` after `marker` in `text`. */
function blockAfter(text: string, marker: string, lang = "sh"): string {
  const at = text.indexOf(marker);
  expect(at, marker).to.be.greaterThan(-1);
  const match = new RegExp("```" + lang + "\\n([\\s\\S]*?)```").exec(text.slice(at));
  expect(match, `a ${lang} block after ${marker}`).to.not.equal(null);
  return match![1];
}

/** The plugin each resource of a stack run asks the engine for: package, version, download URL. */
function pluginsOf(resources: ResourceRecord[]): Map<string, Set<string>> {
  const plugins = new Map<string, Set<string>>();
  for (const r of resources.filter((r) => r.custom)) {
    const [first, second, third] = r.type.split(":");
    const pkg = first === "pulumi" ? (second === "providers" ? third : undefined) : first;
    if (pkg === undefined) {
      continue;
    }
    const seen = plugins.get(pkg) ?? new Set<string>();
    if (r.options.version) {
      const server = r.options.pluginDownloadURL ? ` --server ${r.options.pluginDownloadURL}` : "";
      seen.add(`pulumi plugin install resource ${pkg} ${r.options.version}${server}`);
    }
    plugins.set(pkg, seen);
  }
  return plugins;
}

describe("the README's walkthrough", function () {
  this.timeout(120_000);

  it("installs exactly the plugins the stacks register, at the versions package-lock.json pins", async () => {
    const plugins = new Map<string, Set<string>>();
    for (const stack of ["homelab", "prod"] as const) {
      for (const [pkg, lines] of pluginsOf(succeeded(await runStack(stack)).resources)) {
        plugins.set(pkg, new Set([...(plugins.get(pkg) ?? []), ...lines]));
      }
    }
    for (const [pkg, lines] of plugins) {
      expect([...lines], `one pinned plugin version for ${pkg}`).to.have.length(1);
    }
    const expected = [...plugins.values()].map((lines) => [...lines][0]).sort();

    // The SDK packages name the plugins they were generated for, at the versions the lock file pins.
    const lock = packageLock();
    const fromSdks = Object.keys(packageJson().dependencies).flatMap((sdk) => {
      const manifest = JSON.parse(read("node_modules", sdk, "package.json")) as {
        version: string;
        pulumi?: { resource?: boolean; name: string; version?: string; server?: string };
      };
      if (!manifest.pulumi?.resource) {
        return [];
      }
      expect(manifest.version, sdk).to.equal(lock.packages[`node_modules/${sdk}`].version);
      const { name, version = manifest.version, server } = manifest.pulumi;
      return [`pulumi plugin install resource ${name} ${version}${server ? ` --server ${server}` : ""}`];
    });
    // The Talos plugin has no SDK package: our wrapper pins it (components/talos/provider.ts).
    const talos = expected.filter((line) => line.startsWith("pulumi plugin install resource talos "));
    expect(talos).to.have.length(1);
    expect(talos[0]).to.include(` talos ${TALOS_PROVIDER_VERSION} `);
    expect([...fromSdks, ...talos].sort()).to.deep.equal(expected);

    const walkthrough = section(readme(), "## Real deployment walkthrough");
    const installs = [...walkthrough.matchAll(/^\s*(pulumi plugin install .*?)\s*$/gm)].map((m) => m[1]);
    expect(installs.sort()).to.deep.equal(expected);
  });
});

describe("the README's library example", () => {
  it("names no network interface: kube-vip takes the interface of the default route", () => {
    const program = read("test", "fixtures", "consumer", "program.ts");
    expect(program).to.include("kubeVip: {");
    expect(program).to.not.match(/\binterface\s*:/);
    // Nor do the example stacks (a commented-out key is documentation).
    for (const stack of ["homelab", "prod"] as const) {
      expect(JSON.stringify(exampleCluster(stack)), stack).to.not.include('"interface"');
    }
  });
});

describe("the Node.js versions", () => {
  it("package.json asks for the Node.js that @pulumi/pulumi declares, and the README says so", () => {
    const sdk = JSON.parse(read("node_modules", "@pulumi", "pulumi", "package.json")) as {
      engines: { node: string };
    };
    const ours = packageJson().engines;
    expect(ours).to.deep.equal({ node: sdk.engines.node });
    const lock = packageLock();
    expect(lock.packages[""].engines).to.deep.equal(ours);

    const minimum = /^>=(\d+)$/.exec(ours.node)?.[1];
    expect(minimum, `engines.node ${ours.node}`).to.be.a("string");
    const requirements = section(readme(), "## Two commands on a fresh machine");
    expect(requirements).to.include(`Node.js ${minimum} or later`);
    expect(requirements).to.include(`"engines": {"node": "${ours.node}"}`);
    expect(section(readme(), "## Real deployment walkthrough")).to.include(`Node.js ${minimum} or later`);

    // What the tests run on: CI's matrix, named in the README.
    const ci = parse(read(".github", "workflows", "ci.yml")) as {
      jobs: { test: { strategy: { matrix: { node: number[] } } } };
    };
    const nodes = ci.jobs.test.strategy.matrix.node;
    expect(requirements.replace(/\s+/g, " ")).to.include(`CI on Node ${nodes.join(" and ")}`);
  });
});

describe("the version story", () => {
  const changelogVersions = () =>
    [...read("CHANGELOG.md").matchAll(/^## \[(\d+\.\d+\.\d+)\]/gm)].map((m) => m[1]);
  /** Library versions a text names: "talos-proxmox X.Y", the tarball "talos-proxmox-X.Y.Z.tgz", "updated by X.Y". */
  const versionsNamed = (text: string) => [
    ...[...text.matchAll(/talos-proxmox[ -](\d+\.\d+(?:\.\d+)?)(?![\d])/g)].map((m) => m[1]),
    ...[...text.matchAll(/\b(?:by|of|from|before|since|onto|their) (0\.\d+(?:\.\d+)?)(?![.\d])/g)].map(
      (m) => m[1],
    ),
    ...[...text.matchAll(/\b(0\.\d+(?:\.\d+)?)'s\b/g)].map((m) => m[1]),
  ];
  const full = (version: string) => (version.split(".").length === 2 ? `${version}.0` : version);

  it("package.json's version heads the CHANGELOG, and npm pack in the README makes its tarball", () => {
    const { version } = packageJson();
    expect(changelogVersions()[0]).to.equal(version);
    const lock = packageLock();
    expect([lock.version, lock.packages[""].version]).to.deep.equal([version, version]);
    const tarballs = [...readme().matchAll(/talos-proxmox-(\d+\.\d+\.\d+)\.tgz/g)].map((m) => m[1]);
    expect(tarballs.length).to.be.greaterThan(0);
    expect(new Set(tarballs)).to.deep.equal(new Set([version]));
  });

  it("every version the README and the code name is a version of the CHANGELOG", () => {
    const versions = new Set(changelogVersions());
    const files = ["README.md"];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(join(PROJECT_DIR, dir), { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory() && entry.name !== "fixtures") {
          walk(path);
        } else if (/\.(ts|sh)$/.test(entry.name)) {
          files.push(path);
        }
      }
    };
    ["components", "stacks", "test", "tools"].forEach(walk);
    const unknown = files.flatMap((file) =>
      versionsNamed(read(file))
        .filter((v) => !versions.has(full(v)))
        .map((v) => `${file}: ${v}`),
    );
    expect(unknown).to.deep.equal([]);
    // The README does name the earlier versions whose stacks the code tells apart.
    expect(new Set(versionsNamed(readme()).map(full))).to.include.keys("0.1.0", "0.2.0", "0.3.0");
  });
});

describe("the README's day-2 plan recipe", function () {
  this.timeout(300_000);

  /** A throwaway git repository holding the project as it is now, the dependencies linked. */
  function scratchRepository(): string {
    const dir = mkdtempSync(join(tmpdir(), "talos-proxmox-recipe-"));
    cpSync(PROJECT_DIR, dir, {
      recursive: true,
      filter: (path) => !/^(node_modules|\.git|dist|plan)(\/|$)/.test(relative(PROJECT_DIR, path)),
    });
    symlinkSync(join(PROJECT_DIR, "node_modules"), join(dir, "node_modules"), "dir");
    git(dir, "init", "-q");
    git(dir, "add", "-A");
    git(dir, "commit", "-q", "-m", "the stack as deployed");
    return dir;
  }

  function git(dir: string, ...args: string[]): string {
    const result = spawnSync(
      "git",
      [
        "-c",
        "user.name=test",
        "-c",
        "user.email=test@example.invalid",
        "-c",
        "commit.gpgsign=false",
        ...args,
      ],
      { cwd: dir, encoding: "utf8" },
    );
    expect(result.status, `git ${args.join(" ")}: ${result.stderr}`).to.equal(0);
    return result.stdout;
  }

  function runRecipe(dir: string): { status: number | null; output: string } {
    const recipe = blockAfter(readme(), "**See it before you apply it.**");
    const result = spawnSync("bash", ["-e", "-c", recipe], { cwd: dir, encoding: "utf8" });
    return { status: result.status, output: result.stdout + result.stderr };
  }

  /** What the working tree and the stash hold, to compare before and after. */
  const tree = (dir: string) => ({
    status: git(dir, "status", "--porcelain", "--untracked-files=all", "--", ".", ":!plan"),
    stash: git(dir, "stash", "list"),
    stackFile: readFileSync(join(dir, "Pulumi.prod.yaml"), "utf8"),
  });

  let dir: string;
  before(() => {
    dir = scratchRepository();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("with nothing changed, plans the stack and leaves an unrelated stash where it is", () => {
    writeFileSync(join(dir, "notes.txt"), "work in progress\n");
    git(dir, "add", "notes.txt");
    git(dir, "stash", "push", "-q", "-m", "unrelated");
    const before = tree(dir);
    expect(before.status).to.equal("");

    const { status, output } = runRecipe(dir);
    expect(status, output).to.equal(0);
    expect(tree(dir)).to.deep.equal(before);
  });

  it("with the stack file changed and untracked files, plans the change and keeps both", () => {
    const file = join(dir, "Pulumi.prod.yaml");
    const stackFile = readFileSync(file, "utf8");
    const changed = stackFile.replace(
      /kubernetesVersion: "?(\d+)\.(\d+)\.(\d+)"?/,
      (_, major, minor, patch) => {
        return `kubernetesVersion: "${major}.${minor}.${Number(patch) + 1}"`;
      },
    );
    expect(changed).to.not.equal(stackFile);
    writeFileSync(file, changed);
    writeFileSync(join(dir, "scratch.txt"), "untracked\n");
    const before = tree(dir);

    const { status, output } = runRecipe(dir);
    expect(status, output).to.equal(0);
    expect(output).to.match(/kubernetes/i);
    expect(output).to.match(/\bupdate\b/);
    expect(tree(dir)).to.deep.equal(before);
  });
});

describe("the README's runbook for a first pulumi up that fails halfway", function () {
  this.timeout(120_000);
  const runbook = () => section(readme(), "### A first `pulumi up` that fails halfway");

  it("is linked from the troubleshooting table and the day-2 section, and mapped in docs/README.md", () => {
    const text = readme();
    expect(section(text, "## Troubleshooting")).to.include("(#a-first-pulumi-up-that-fails-halfway)");
    expect(section(text, "## Day 2: upgrades, scaling, removal")).to.include(
      "(#a-first-pulumi-up-that-fails-halfway)",
    );
    expect(read("docs", "README.md")).to.include("A first `pulumi up` that fails halfway");
  });

  it("names what prod protects, the ISO's file name and the teardown the code implements", async () => {
    const text = runbook().replace(/\s+/g, " ");
    const prod = succeeded(await runStack("prod"));
    const kinds = new Set(
      prod.resources
        .filter((r) => r.options.protect)
        .map((r) =>
          r.type === TYPES.secrets
            ? "the secrets"
            : r.type === TYPES.vm && r.name.includes("-cp-")
              ? "the control-plane VMs"
              : r.type === "command:local:Command" && r.name.endsWith("-decommission")
                ? "their decommission commands"
                : `unexpected: ${r.type} ${r.name}`,
        ),
    );
    expect([...kinds].sort()).to.deep.equal([
      "the control-plane VMs",
      "the secrets",
      "their decommission commands",
    ]);
    expect(text).to.include(
      "the secrets, the control-plane VMs and their decommission commands are protected",
    );

    for (const stack of ["homelab", "prod"] as const) {
      const cluster = exampleCluster(stack) as { name: string };
      const run = stack === "prod" ? prod : succeeded(await runStack(stack));
      const files = ofType(run, TYPES.file).map((r) =>
        String(r.inputs.fileName).replace(cluster.name, "<cluster>"),
      );
      expect(files.length, stack).to.be.greaterThan(0);
      for (const name of files) {
        expect(text).to.include(name);
      }
    }

    // The decommission script does nothing under a teardown, as the runbook says.
    const script = read("components", "scripts", "decommission.sh");
    expect(script).to.match(/^if \[ "\$TEARDOWN" = "true" \]; then\n(?:.*\n)*?\s*exit 0\nfi/m);
    expect(text).to.include("set `teardown: true`");
    expect(text).to.include("`deletionProtection: false`");
  });

  it("cites the upstream versions the project pins", () => {
    const text = runbook().replace(/\s+/g, " ");
    const pkgV3 = /github\.com\/pulumi\/pulumi\/pkg\/v3 (v[\d.]+)/.exec(
      read("tools", "engine-aliases", "go.mod"),
    )![1];
    expect(text).to.include(`pkg/v3 ${pkgV3}`);
    expect(text).to.include(`pulumi-command v${packageJson().dependencies["@pulumi/command"]}`);
    const talos = /wraps terraform-provider-talos ([\d.]+)/.exec(
      read("components", "talos", "provider.ts"),
    )![1];
    expect(text).to.include(`terraform-provider-talos v${talos}`);
    const bpg = /vm\.go (v[\d.]+)/.exec(read("components", "talos-vm.ts"))![1];
    expect(text).to.include(`bpg ${bpg}`);
  });
});
