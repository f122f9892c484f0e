/**
 * The real Pulumi CLI and engine running the real stack program, with no network and no Pulumi
 * service: the CLI (github.com/pulumi/pulumi/pkg/v3 v3.276.0), our Node.js language host
 * (tools/engine/nodejs-host: the real one is not served by the Go module proxy) and stand-in provider
 * plugins (tools/engine/standin: the real talos, proxmoxve and command plugins are not served, and the
 * real kubernetes plugin's Helm Check downloads charts). Each is built once per source version into the
 * cache by tools/go-tool.sh. A workspace is a copy of the project in a temporary directory with a file
 * backend and a Pulumi home of its own, so that a run never touches the checkout or the user's Pulumi.
 */
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { TALOS_PROVIDER_VERSION } from "../../components/talos/provider";
import { goTool as buildGoTool } from "../go-tool";

export const PROJECT_DIR = resolve(__dirname, "..", "..");
const CLI_PACKAGE = "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi";
/**
 * An installed Pulumi CLI to run instead of the one built here (on a connected machine: the normal
 * install, whose own pulumi-language-nodejs sits next to it and is used in place of ours).
 */
const INSTALLED_CLI_VARIABLE = "TALOS_PROXMOX_PULUMI";

export interface EngineTools {
  pulumi: string;
  /** Ours; absent with an installed CLI, which brings Pulumi's own. */
  languageHost?: string;
  standin: string;
}

function goTool(args: string[]): string {
  return buildGoTool(__dirname, args);
}

/** The version of a module tools/engine/go.mod requires. */
function requiredVersion(module: string): string {
  const found = new RegExp(`^\\s*${module.replace(/[./]/g, "\\$&")} (v\\S+)`, "m").exec(
    readFileSync(join(__dirname, "go.mod"), "utf8"),
  );
  if (!found) {
    throw new Error(`tools/engine/go.mod does not require ${module}`);
  }
  return found[1];
}

/**
 * Builds the CLI, the language host and the stand-in plugins (each once per source version); with
 * TALOS_PROXMOX_PULUMI set, only the stand-ins, and that CLI runs with its own language host.
 */
export function buildEngineTools(): EngineTools {
  const installed = process.env[INSTALLED_CLI_VARIABLE];
  if (installed) {
    return { pulumi: installed, standin: goTool(["./standin"]) };
  }
  // Stamped with the version tools/engine/go.mod requires, as a release build is (sdk/v3 version.Version).
  const version = requiredVersion("github.com/pulumi/pulumi/pkg/v3");
  return {
    pulumi: goTool([
      CLI_PACKAGE,
      "-ldflags",
      `-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${version}`,
    ]),
    languageHost: goTool(["./nodejs-host"]),
    standin: goTool(["./standin"]),
  };
}

/** A provider plugin at the exact version its SDK asks the engine for. */
export interface PluginVersion {
  name: string;
  version: string;
}

/** The version an installed SDK package asks for: its package.json's `pulumi.version`, else `version`. */
function sdkPluginVersion(pkg: string): PluginVersion {
  const manifest = JSON.parse(
    readFileSync(join(PROJECT_DIR, "node_modules", pkg, "package.json"), "utf8"),
  ) as {
    version: string;
    pulumi?: { name?: string; version?: string };
  };
  if (!manifest.pulumi?.name) {
    throw new Error(`${pkg}'s package.json names no provider plugin`);
  }
  return { name: manifest.pulumi.name, version: manifest.pulumi.version ?? manifest.version };
}

/** Every plugin the program asks for: the talos one by our wrapper's pin, the others by their SDKs. */
export function requiredPlugins(): PluginVersion[] {
  return [
    { name: "talos", version: TALOS_PROVIDER_VERSION },
    sdkPluginVersion("@muhlba91/pulumi-proxmoxve"),
    sdkPluginVersion("@pulumi/command"),
    sdkPluginVersion("@pulumi/kubernetes"),
  ];
}

export interface PulumiResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A hard link where the cache and the workspace share a file system, else a copy. */
function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EXDEV") {
      throw e;
    }
    copyFileSync(from, to);
  }
}

/** The files a project copy takes: the program and what it reads, never dist/ unless asked for. */
const PROJECT_FILES = [
  "Pulumi.yaml",
  "Pulumi.homelab.yaml",
  "Pulumi.prod.yaml",
  "package.json",
  "tsconfig.json",
  "tsconfig.build.json",
];
const PROJECT_DIRS = ["components", "stacks"];

/**
 * A copy of the project with its own file backend and Pulumi home, the plugins installed and the
 * network closed: automatic plugin downloads are off and every HTTP(S) request goes to a dead loopback
 * port (pkg/v3 honours HTTPS_PROXY through Go's net/http), so an attempt fails at once instead of
 * reaching out.
 */
export class EngineWorkspace {
  readonly root: string;
  readonly project: string;
  readonly env: NodeJS.ProcessEnv;
  private readonly cli: string;

  constructor(readonly tools: EngineTools) {
    this.root = mkdtempSync(join(tmpdir(), "talos-proxmox-engine-"));
    this.project = join(this.root, "project");
    const home = join(this.root, "pulumi-home");
    const state = join(this.root, "state");
    const bin = join(this.root, "bin");
    for (const dir of [this.project, home, state, bin]) {
      mkdirSync(dir, { recursive: true });
    }
    for (const file of PROJECT_FILES) {
      cpSync(join(PROJECT_DIR, file), join(this.project, file));
    }
    for (const dir of PROJECT_DIRS) {
      cpSync(join(PROJECT_DIR, dir), join(this.project, dir), { recursive: true });
    }
    symlinkSync(join(PROJECT_DIR, "node_modules"), join(this.project, "node_modules"), "dir");
    // The CLI takes the language host from PATH, and warns unless it is the one next to its own
    // executable (sdk/v3 v3.276.0 go/common/workspace/plugins.go, GetPluginPath): both go into bin/.
    if (tools.languageHost) {
      this.cli = join(bin, "pulumi");
      linkOrCopy(tools.pulumi, this.cli);
      linkOrCopy(tools.languageHost, join(bin, "pulumi-language-nodejs"));
    } else {
      this.cli = tools.pulumi;
    }
    this.env = {
      PATH: `${bin}:${process.env.PATH ?? ""}`,
      HOME: process.env.HOME,
      TMPDIR: process.env.TMPDIR,
      PULUMI_HOME: home,
      PULUMI_BACKEND_URL: `file://${state}`,
      // The passphrase secrets provider: config and state secrets are encrypted as on a real stack.
      PULUMI_CONFIG_PASSPHRASE: "engine-lane-passphrase",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
      HTTPS_PROXY: "http://127.0.0.1:9",
      HTTP_PROXY: "http://127.0.0.1:9",
      NO_PROXY: "127.0.0.1,localhost",
      // No colours in what the tests read, and no .bak of every checkpoint (sdk/v3 go/common/env/env.go).
      NO_COLOR: "1",
      PULUMI_DIY_BACKEND_DISABLE_CHECKPOINT_BACKUPS: "true",
    };
    for (const plugin of requiredPlugins()) {
      this.ok([
        "plugin",
        "install",
        "resource",
        plugin.name,
        plugin.version,
        "--file",
        this.standinAs(plugin.name),
      ]);
    }
  }

  /** The stand-in binary under the name the engine starts a provider by (pulumi-resource-<name>). */
  private standinAs(name: string): string {
    const dir = join(this.root, "standin", name);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `pulumi-resource-${name}`);
    if (!existsSync(file)) {
      linkOrCopy(this.tools.standin, file);
    }
    return file;
  }

  /** Runs the CLI in the project copy. */
  pulumi(args: string[], extraEnv: NodeJS.ProcessEnv = {}): PulumiResult {
    const result = spawnSync(this.cli, [...args, "--non-interactive"], {
      cwd: this.project,
      env: { ...this.env, ...extraEnv },
      encoding: "utf8",
      maxBuffer: 256 * 2 ** 20,
    });
    if (result.error) {
      throw result.error;
    }
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  /** Runs the CLI and fails with everything it printed unless it succeeded. */
  ok(args: string[], extraEnv: NodeJS.ProcessEnv = {}): string {
    const result = this.pulumi(args, extraEnv);
    if (result.status !== 0) {
      throw new Error(
        `pulumi ${args.join(" ")} exited ${String(result.status)}:\n${result.stdout}\n${result.stderr}`,
      );
    }
    return result.stdout;
  }

  /** A file of the project copy, as text. */
  read(file: string): string {
    return readFileSync(join(this.project, file), "utf8");
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
