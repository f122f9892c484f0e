import { expect } from "chai";
import { parse } from "yaml";
import { TalosImage, TalosImageArgs, ValidationError } from "../components";
import { factorySchematicId } from "../components/testing";
import { one, ofType, runComponents, succeeded, TYPES } from "./harness";

const BASE: TalosImageArgs = {
  talosVersion: "v1.13.9",
  pveNodes: ["pve2", "pve1", "pve3", "pve1"],
  fileNamePrefix: "prod",
};

/** The public id of the guide's three extensions (see e.g. factory.talos.dev). */
const GUIDE_SCHEMATIC_ID = "88d1f7a5c4f1d3aba7df787c448c1d3d008ed29cfb34af53fa0df4336a56040b";

function runImage(args: Partial<TalosImageArgs> = {}) {
  return runComponents(() => {
    const image = new TalosImage("img", { ...BASE, ...args });
    return {
      schematicId: image.schematicId,
      installerImage: image.installerImage,
      isoUrl: image.isoUrl,
      isoFileIds: image.isoFileIds,
      hasGuestAgent: image.hasGuestAgent,
    };
  });
}

describe("TalosImage", () => {
  it("builds a schematic of the guide's extensions by default, sorted into the factory's canonical form", async () => {
    const run = succeeded(await runImage());
    const schematic = one(run, TYPES.schematic, "img-schematic");
    expect(schematic.parent).to.equal(one(run, TYPES.talosImage, "img").urn);
    expect(parse(String(schematic.inputs.schematic))).to.deep.equal({
      customization: {
        systemExtensions: {
          officialExtensions: [
            "siderolabs/iscsi-tools",
            "siderolabs/qemu-guest-agent",
            "siderolabs/util-linux-tools",
          ],
        },
      },
    });
    expect(run.outputs?.schematicId).to.equal(GUIDE_SCHEMATIC_ID);
    expect(run.outputs?.hasGuestAgent).to.equal(true);
  });

  it("gives the same schematic whatever the order of the extensions", async () => {
    const run = succeeded(
      await runImage({
        extensions: ["siderolabs/util-linux-tools", "siderolabs/qemu-guest-agent", "siderolabs/iscsi-tools"],
      }),
    );
    expect(run.outputs?.schematicId).to.equal(GUIDE_SCHEMATIC_ID);
  });

  it("points at the nocloud installer and ISO of the pinned version", async () => {
    const run = succeeded(await runImage());
    expect(run.outputs?.installerImage).to.equal(
      `factory.talos.dev/nocloud-installer/${GUIDE_SCHEMATIC_ID}:v1.13.9`,
    );
    expect(run.outputs?.isoUrl).to.equal(
      `https://factory.talos.dev/image/${GUIDE_SCHEMATIC_ID}/v1.13.9/nocloud-amd64.iso`,
    );
    const urls = run.invokes.find((i) => i.token === "talos:imageFactory/getUrls:getUrls");
    expect(urls?.args).to.deep.equal({
      talosVersion: "v1.13.9",
      schematicId: GUIDE_SCHEMATIC_ID,
      platform: "nocloud",
      architecture: "amd64",
    });
  });

  it("downloads the ISO once per Proxmox node that hosts a VM", async () => {
    const run = succeeded(await runImage());
    const files = ofType(run, TYPES.file);
    expect(files.map((f) => f.inputs.nodeName)).to.deep.equal(["pve1", "pve2", "pve3"]);
    const fileName = "prod-talos-nocloud-amd64.iso";
    for (const file of files) {
      expect(file.inputs).to.deep.include({
        contentType: "iso",
        datastoreId: "local",
        url: `https://factory.talos.dev/image/${GUIDE_SCHEMATIC_ID}/v1.13.9/nocloud-amd64.iso`,
        fileName,
        overwrite: false,
        uploadTimeout: 1800,
      });
      expect(file.dependencies).to.include(one(run, TYPES.schematic, "img-schematic").urn);
      // The ISO only boots new VMs: kept across upgrades, so VMs never see their CD change.
      expect(file.options.ignoreChanges).to.deep.equal(["url"]);
    }
    expect(run.outputs?.isoFileIds).to.deep.equal({
      pve1: `local:iso/${fileName}`,
      pve2: `local:iso/${fileName}`,
      pve3: `local:iso/${fileName}`,
    });
  });

  it("downloads once to shared storage and serves every node from it", async () => {
    const run = succeeded(await runImage({ datastore: "cephfs", sharedDatastore: true }));
    const files = ofType(run, TYPES.file);
    expect(files).to.have.length(1);
    expect(files[0].inputs).to.include({ nodeName: "pve1", datastoreId: "cephfs" });
    const ids = run.outputs?.isoFileIds as Record<string, string>;
    expect(Object.keys(ids)).to.deep.equal(["pve1", "pve2", "pve3"]);
    expect(new Set(Object.values(ids)).size).to.equal(1);
  });

  it("reports an image without the guest agent, so VMs keep theirs off", async () => {
    const run = succeeded(await runImage({ extensions: ["siderolabs/iscsi-tools"] }));
    expect(run.outputs?.hasGuestAgent).to.equal(false);
  });

  const refusals: [string, Partial<TalosImageArgs>, RegExp][] = [
    ["a Talos version without the v", { talosVersion: "1.13.9" }, /args\.talosVersion: .*Add the "v"/],
    [
      "a Talos minor the library renders no configs for",
      { talosVersion: "v1.12.6" },
      /args\.talosVersion: Talos v1\.12 is not supported/,
    ],
    [
      "an extension Image Factory does not serve",
      { extensions: ["siderolabs/qemu-guest-agnet"] },
      /args\.extensions\[0\]: .*not an official system extension.*Did you mean "siderolabs\/qemu-guest-agent"/,
    ],
    [
      "a name nothing is near",
      { extensions: ["acme/widget"] },
      /args\.extensions\[0\]: .*Use the "siderolabs\/<name>" form/,
    ],
    [
      "a repeated extension",
      { extensions: ["siderolabs/zfs", "siderolabs/zfs"] },
      /args\.extensions\[1\]: .*twice/,
    ],
    ["no Proxmox node", { pveNodes: [] }, /args\.pveNodes: is empty/],
    ["a bad storage id", { datastore: "local lvm" }, /args\.datastore: .*storage id/],
  ];
  for (const [what, args, message] of refusals) {
    it(`refuses ${what} before creating anything`, async () => {
      const run = await runImage(args);
      expect(run.error).to.be.instanceOf(ValidationError);
      expect((run.error as Error).message).to.match(message);
      expect(run.resources.map((r) => r.type)).to.deep.equal([TYPES.stack]);
    });
  }

  it("fails loudly when the factory's URLs have no installer image (mocks that echo their arguments)", async () => {
    const echo = {
      newResource: (args: { name: string; inputs: Record<string, unknown> }) => ({
        id: `${args.name}-id`,
        state: args.inputs,
      }),
      call: (args: { inputs: Record<string, unknown> }) => ({
        urls: { iso: "https://factory/iso" },
        ...args.inputs,
      }),
    };
    const run = await runComponents(() => ({ installerImage: new TalosImage("img", BASE).installerImage }), {
      mocks: echo,
    });
    expect(String(run.error)).to.match(
      /TalosImage "img": the Image Factory URLs of schematic img-schematic-id have no installer image\. Under test mocks/,
    );
  });

  it("names no ISO for a node it did not download to", async () => {
    const run = await runComponents(() => new TalosImage("img", BASE).isoFileIdFor("pve9"));
    expect(String(run.error)).to.match(/no ISO on Proxmox node "pve9".*Add "pve9"/);
  });
});

describe("the offline model of Image Factory schematic ids", () => {
  // Test vectors of siderolabs/image-factory pkg/schematic, and the well-known guest-agent schematic.
  const vectors: [string, string][] = [
    ["customization: {}\n", "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"],
    ["{}", "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"],
    [
      '{"customization": {"extraKernelArgs": ["noapic", "nolapic"], "systemExtensions": {}}}',
      "9cba8e32753f91a16c1837ab8abf356af021706ef284aef07380780177d9a06c",
    ],
    [
      "customization:\n  systemExtensions:\n    officialExtensions: [siderolabs/qemu-guest-agent]\n",
      "ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515",
    ],
  ];
  for (const [yaml, id] of vectors) {
    it(`reproduces ${id.slice(0, 12)}`, () => expect(factorySchematicId(yaml)).to.equal(id));
  }

  it("refuses fields it does not model rather than guess an id", () => {
    expect(() =>
      factorySchematicId("overlay: {name: rpi_generic, image: siderolabs/sbc-raspberrypi}"),
    ).to.throw(/overlay is not modelled/);
  });
});
