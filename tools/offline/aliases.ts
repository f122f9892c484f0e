/**
 * How the engine finds a registered resource's old state: by its URN, then by its aliases, its own
 * and those it inherits from a parent that was itself found by an alias. A model of pulumi/pulumi
 * pkg/resource/deploy/step_generator.go (v3.260.0): getOldResource, generateAliases,
 * collapseAliasToUrn and inheritedChildAlias, for the alias specs the Node.js SDK sends when the
 * monitor supports them (sdk/nodejs/runtime/resource.ts mapAliasesForRequest), as the offline engine
 * records them.
 */
import { AliasRecord } from "./engine";

const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";

interface Urn {
  /** The parent type chain and the type, `$`-joined. */
  qualifiedType: string;
  /** The last element of the chain. */
  type: string;
  name: string;
}

function parseUrn(urn: string): Urn {
  const [, , qualifiedType, ...name] = urn.split("::");
  const chain = qualifiedType.split("$");
  return { qualifiedType, type: chain[chain.length - 1], name: name.join("::") };
}

export class AliasResolver {
  /** A resource's URN to the old URN it was found by, when that was an alias (the engine's sg.aliases). */
  private readonly foundByAlias = new Map<string, string>();

  constructor(
    private readonly stack: string,
    private readonly project: string,
    /** The URNs of the last update's state: nothing is found when there is none. */
    private readonly olds: ReadonlySet<string>,
  ) {}

  /** The old URN the engine matches to this registration (its own first), or undefined: a create. */
  resolve(
    urn: string,
    name: string,
    type: string,
    parent: string | null,
    aliases: readonly AliasRecord[],
  ): string | undefined {
    for (const candidate of [urn, ...this.aliasesOf(name, type, parent, aliases)]) {
      if (this.olds.has(candidate)) {
        if (candidate !== urn) {
          this.foundByAlias.set(urn, candidate);
        }
        return candidate;
      }
    }
    return undefined;
  }

  /** generateAliases: the resource's own aliases, then those its parent's alias multiplies out. */
  private aliasesOf(
    name: string,
    type: string,
    parent: string | null,
    aliases: readonly AliasRecord[],
  ): string[] {
    const result: string[] = [];
    const add = (alias: string) => {
      if (!result.includes(alias)) {
        result.push(alias);
      }
    };
    const own = aliases.map((alias) => this.collapse(name, type, parent, alias));
    own.forEach(add);
    const parentAlias = parent ? this.foundByAlias.get(parent) : undefined;
    if (parent && parentAlias) {
      const parentName = parseUrn(parent).name;
      add(this.inherited(type, name, parentName, parentAlias));
      for (const alias of own) {
        const { type: aliasType, name: aliasName } = parseUrn(alias);
        add(this.inherited(aliasType, aliasName, parentName, parentAlias));
      }
    }
    return result;
  }

  /** collapseAliasToUrn: the spec's blanks filled from the resource; a root-stack parent is no parent. */
  private collapse(name: string, type: string, parent: string | null, alias: AliasRecord): string {
    if ("urn" in alias) {
      return alias.urn;
    }
    let aliasParent: string | null = parent;
    if (alias.parentUrn) {
      aliasParent = this.foundByAlias.get(alias.parentUrn) ?? alias.parentUrn;
    }
    if (alias.noParent || (aliasParent && parseUrn(aliasParent).qualifiedType === ROOT_STACK_TYPE)) {
      aliasParent = null;
    }
    const aliasType = alias.type || type;
    const qualified = aliasParent ? `${parseUrn(aliasParent).qualifiedType}$${aliasType}` : aliasType;
    const stack = alias.stack || this.stack;
    const project = alias.project || this.project;
    return `urn:pulumi:${stack}::${project}::${qualified}::${alias.name || name}`;
  }

  /** inheritedChildAlias: under the parent's old URN, with the parent's old name as the name's prefix. */
  private inherited(type: string, name: string, parentName: string, parentAlias: string): string {
    const old = parseUrn(parentAlias);
    const aliasName = name.startsWith(parentName) ? old.name + name.slice(parentName.length) : name;
    return `urn:pulumi:${this.stack}::${this.project}::${old.qualifiedType}$${type}::${aliasName}`;
  }
}
