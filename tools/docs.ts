/**
 * The README's generated sections, between their markers: the component reference, from the TSDoc of
 * the package's public API (components/index.ts), with what lacks documentation (every component, args
 * field, optional ones with `@default`, and output needs it); the change-impact contract of
 * stacks/change-contract.ts; and the impact report's examples, planned from prod's stack file.
 *
 *   npm run docs            rewrite them
 *   npm run docs -- --check exit 1 if one is out of date or TSDoc is missing
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as prettier from "prettier";
import * as ts from "typescript";
import { CHANGE_CONTRACT, EFFECT_MEANINGS, EFFECTS } from "../stacks/change-contract";
import { impactReport, refusedReport, renderImpactMarkdown } from "./offline/impact";
import { errorMessage, planSideOf, runSideOf, runStackFile } from "./offline/stack-run";

const PROJECT_DIR = join(__dirname, "..");
const ENTRY = join(PROJECT_DIR, "components", "index.ts");
const README = join(PROJECT_DIR, "README.md");
export const START = "<!-- component-reference:start (npm run docs) -->";
export const END = "<!-- component-reference:end -->";

export interface Reference {
  markdown: string;
  /** What lacks TSDoc, e.g. "ControlPlaneArgs.vip: no description". */
  missing: string[];
}

interface Row {
  name: string;
  type: string;
  defaultValue?: string;
  description: string;
}

/** Reads the public API (the barrel `entry`) with the TypeScript compiler and renders its reference. */
export async function componentReference(entry = ENTRY): Promise<Reference> {
  const program = ts.createProgram([entry], {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  if (!moduleSymbol) {
    throw new Error(`cannot read ${entry}`);
  }
  const missing: string[] = [];
  const sections: string[] = [];
  const functions: string[] = [];
  const values: string[] = [];
  const interfaces: ts.InterfaceDeclaration[] = [];
  /** Args interfaces and what they extend: their fields are in the components' tables already. */
  const shown = new Set<ts.Symbol>();
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const declaration = symbol.declarations?.[0];
    if (declaration && ts.isClassDeclaration(declaration) && staticType(symbol, checker)) {
      sections.push(componentSection(symbol, declaration, checker, missing));
      const argsParam = declaration.members.find(ts.isConstructorDeclaration)?.parameters[1];
      markWithBases(argsParam && checker.getTypeAtLocation(argsParam), checker, shown);
    } else if (declaration && ts.isInterfaceDeclaration(declaration)) {
      interfaces.push(declaration);
    } else if (
      declaration &&
      (ts.isFunctionDeclaration(declaration) ||
        ts.isVariableDeclaration(declaration) ||
        ts.isClassDeclaration(declaration))
    ) {
      const doc = describe(symbol, checker);
      if (!doc) {
        missing.push(`${symbol.name}: no description`);
      }
      if (ts.isFunctionDeclaration(declaration)) {
        functions.push(`- \`${symbol.name}${signatureOf(symbol, checker)}\`: ${doc}`);
      } else {
        values.push(`- \`${symbol.name}\`: ${doc}`);
      }
    }
  }
  const types = interfaces
    .filter((i) => !shown.has(checker.getTypeAtLocation(i).getSymbol() as ts.Symbol))
    .map((i) => typeSection(i, checker, missing));
  const body = [
    ...sections,
    ...(types.length ? ["### Types", "", ...types] : []),
    ...(functions.length ? ["### Functions", "", ...functions, ""] : []),
    ...(values.length ? ["### Constants and other classes", "", ...values, ""] : []),
  ].join("\n");
  const markdown = await prettier.format(body, {
    parser: "markdown",
    printWidth: 110,
    proseWrap: "preserve",
  });
  return { markdown, missing };
}

function markWithBases(type: ts.Type | undefined, checker: ts.TypeChecker, shown: Set<ts.Symbol>): void {
  const symbol = type?.getSymbol();
  if (!type || !symbol || shown.has(symbol)) {
    return;
  }
  shown.add(symbol);
  if (type.isClassOrInterface()) {
    for (const base of checker.getBaseTypes(type)) {
      markWithBases(base, checker, shown);
    }
  }
}

/** An exported interface that is not a component's args: its fields. */
function typeSection(
  declaration: ts.InterfaceDeclaration,
  checker: ts.TypeChecker,
  missing: string[],
): string {
  const name = declaration.name.text;
  const symbol = checker.getSymbolAtLocation(declaration.name);
  const doc = symbol ? describe(symbol, checker) : "";
  const rows = argRows(checker.getTypeAtLocation(declaration), "", checker, `${name}.`, missing);
  return [
    `#### ${name}`,
    "",
    ...(doc ? [doc, ""] : []),
    "| field | type | default | description |",
    "| --- | --- | --- | --- |",
    ...rows.map(tableRow),
    "",
  ].join("\n");
}

function tableRow(r: Row): string {
  return `| \`${r.name}\` | ${code(r.type)} | ${r.defaultValue ? value(r.defaultValue) : "required"} | ${cell(r.description)} |`;
}

function componentSection(
  symbol: ts.Symbol,
  declaration: ts.ClassDeclaration,
  checker: ts.TypeChecker,
  missing: string[],
): string {
  const name = symbol.name;
  const doc = describe(symbol, checker);
  if (!doc) {
    missing.push(`${name}: no description`);
  }
  const constructorDecl = declaration.members.find(ts.isConstructorDeclaration);
  const argsParam = constructorDecl?.parameters[1];
  const argsType = argsParam && checker.getTypeAtLocation(argsParam);
  const argsName = argsParam?.type?.getText() ?? "args";
  const rows = argsType ? argRows(argsType, "", checker, `${argsName}.`, missing) : [];
  const outputs = outputRows(declaration, checker, `${name}.`, missing);
  return [
    `### ${name}`,
    "",
    `\`new ${name}(name: string, args: ${argsName}, opts?: pulumi.ComponentResourceOptions)\` — type \`${staticType(symbol, checker)}\``,
    "",
    doc,
    "",
    `| ${argsName} | type | default | description |`,
    "| --- | --- | --- | --- |",
    ...rows.map(tableRow),
    "",
    "| output | type | description |",
    "| --- | --- | --- |",
    ...outputs.map((r) => `| \`${r.name}\` | ${code(r.type)} | ${cell(r.description)} |`),
    "",
  ].join("\n");
}

/** The args' properties, inherited ones included; inline object types one level down as `a.b`. */
function argRows(
  type: ts.Type,
  prefix: string,
  checker: ts.TypeChecker,
  owner: string,
  missing: string[],
): Row[] {
  const rows: Row[] = [];
  for (const prop of checker.getPropertiesOfType(type)) {
    const declaration = prop.valueDeclaration ?? prop.declarations?.[0];
    if (!declaration) {
      continue;
    }
    const name = `${prefix}${prop.name}`;
    const propType = checker.getTypeOfSymbolAtLocation(prop, declaration);
    const optional = (prop.flags & ts.SymbolFlags.Optional) !== 0;
    const description = describe(prop, checker);
    const defaultValue = prop.getJsDocTags(checker).find((t) => t.name === "default");
    if (!description) {
      missing.push(`${owner}${name}: no description`);
    }
    if (optional && !defaultValue) {
      missing.push(`${owner}${name}: optional without @default`);
    }
    rows.push({
      name,
      type: typeText(checker.getNonNullableType(propType), declaration, checker),
      defaultValue: defaultValue ? ts.displayPartsToString(defaultValue.text) : optional ? "none" : undefined,
      description,
    });
    const literal = inlineObject(checker.getNonNullableType(propType));
    if (literal) {
      rows.push(...argRows(literal, `${name}.`, checker, owner, missing));
    }
  }
  return rows;
}

/** An object type written inline in the args (`upgrade?: { order?: ... }`), not a named interface. */
function inlineObject(type: ts.Type): ts.Type | undefined {
  const declaration = type.getSymbol()?.declarations?.[0];
  return declaration && ts.isTypeLiteralNode(declaration) ? type : undefined;
}

/** `public readonly` instance fields declared by the component itself. */
function outputRows(
  declaration: ts.ClassDeclaration,
  checker: ts.TypeChecker,
  owner: string,
  missing: string[],
): Row[] {
  const rows: Row[] = [];
  for (const member of declaration.members) {
    if (!ts.isPropertyDeclaration(member) || !ts.isIdentifier(member.name)) {
      continue;
    }
    const modifiers = ts.getModifiers(member) ?? [];
    const has = (kind: ts.SyntaxKind) => modifiers.some((m) => m.kind === kind);
    if (
      !has(ts.SyntaxKind.PublicKeyword) ||
      !has(ts.SyntaxKind.ReadonlyKeyword) ||
      has(ts.SyntaxKind.StaticKeyword)
    ) {
      continue;
    }
    const symbol = checker.getSymbolAtLocation(member.name);
    const description = symbol ? describe(symbol, checker) : "";
    if (!description) {
      missing.push(`${owner}${member.name.text}: no description`);
    }
    rows.push({
      name: member.name.text,
      type: member.type
        ? member.type.getText()
        : typeText(checker.getTypeAtLocation(member), member, checker),
      description,
    });
  }
  return rows;
}

/** The value of a component's `static readonly TYPE`, its Pulumi type token. */
function staticType(symbol: ts.Symbol, checker: ts.TypeChecker): string | undefined {
  const type = symbol.exports?.get(ts.escapeLeadingUnderscores("TYPE"));
  const literal = type && checker.getTypeOfSymbol(type);
  return literal?.isStringLiteral() ? literal.value : undefined;
}

function signatureOf(symbol: ts.Symbol, checker: ts.TypeChecker): string {
  const [signature] = checker.getTypeOfSymbol(symbol).getCallSignatures();
  return checker.signatureToString(signature).replace(/^\((.*)\): /, "($1): ");
}

function describe(symbol: ts.Symbol, checker: ts.TypeChecker): string {
  return ts.displayPartsToString(symbol.getDocumentationComment(checker)).replace(/\s+/g, " ").trim();
}

function typeText(type: ts.Type, at: ts.Node, checker: ts.TypeChecker): string {
  return checker.typeToString(
    type,
    at,
    ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope,
  );
}

const code = (text: string) => `\`${text.replace(/\|/g, "\\|")}\``;
/** A `@default`: code when it is a literal (`"local"`, `1800`, `[]`), prose when it explains one. */
const value = (text: string) =>
  /^(["'[{].*|-?\d[\d_.]*|true|false|null)$/.test(text) ? code(text) : cell(text);
const cell = (text: string) => text.replace(/\|/g, "\\|");

/** The README with its reference replaced by `markdown`. */
export function withReference(readme: string, markdown: string): string {
  return withSection(readme, START, END, markdown);
}

export const CONTRACT_START = "<!-- change-contract:start (npm run docs) -->";
export const CONTRACT_END = "<!-- change-contract:end -->";

/** The change-impact contract of stacks/change-contract.ts: what each effect means, then the table. */
export async function changeContract(): Promise<string> {
  const effects = EFFECTS.map((effect) => `- **${effect}**: ${EFFECT_MEANINGS[effect]}.`);
  const rows = CHANGE_CONTRACT.flatMap((row) =>
    row.cases.map((c) => `| ${code(row.key)} | ${cell(c.when ?? "")} | ${c.effect} | ${cell(c.what)} |`),
  );
  const body = [
    ...effects,
    "",
    "| key | change | effect | what happens |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
  return prettier.format(body, { parser: "markdown", printWidth: 110, proseWrap: "preserve" });
}

/** The README with its change-impact contract replaced by `markdown`. */
export function withChangeContract(readme: string, markdown: string): string {
  return withSection(readme, CONTRACT_START, CONTRACT_END, markdown);
}

export const IMPACT_START = "<!-- impact-examples:start (npm run docs) -->";
export const IMPACT_END = "<!-- impact-examples:end -->";

/**
 * The README's examples of the impact report: each plans prod's stack file edited one way (`before`),
 * then the file edited the other way against it, as `npm run plan -- --against ... --format markdown`.
 */
export const IMPACT_EXAMPLES: {
  title: string;
  before: (text: string) => string;
  after: (text: string) => string;
}[] = [
  {
    title: "A Talos patch release",
    before: (text) => text.replace("talosVersion: v1.14.1", "talosVersion: v1.14.0"),
    after: (text) => text,
  },
  {
    title: "An extension added (a new schematic)",
    before: (text) => text,
    after: (text) =>
      text.replace(
        "      datastore: local\n",
        "      datastore: local\n      extensions: [siderolabs/qemu-guest-agent, siderolabs/iscsi-tools, siderolabs/util-linux-tools, siderolabs/intel-ucode]\n",
      ),
  },
  {
    title: "A worker added",
    before: (text) => text,
    after: (text) =>
      text.replace(
        "          - {name: w-3, pveNode: pve3, ip: 10.20.0.23, vmId: 2023}\n",
        "          - {name: w-3, pveNode: pve3, ip: 10.20.0.23, vmId: 2023}\n          - {name: w-4, pveNode: pve1, ip: 10.20.0.24, vmId: 2024}\n",
      ),
  },
  {
    title: "A refused change: the workers' cores in place",
    before: (text) => text,
    after: (text) => text.replace("cores: 8", "cores: 16"),
  },
];

/** Each example's report, under its title. */
export async function impactExamples(): Promise<string> {
  const prod = readFileSync(join(PROJECT_DIR, "Pulumi.prod.yaml"), "utf8");
  const work = mkdtempSync(join(tmpdir(), "talos-proxmox-docs-"));
  const stackFile = (text: string) => {
    const file = join(work, "Pulumi.prod.yaml");
    writeFileSync(file, text);
    return file;
  };
  const sections: string[] = [];
  try {
    for (const example of IMPACT_EXAMPLES) {
      const [beforeText, afterText] = [example.before(prod), example.after(prod)];
      if (beforeText === afterText) {
        throw new Error(`impact example "${example.title}": its edits change nothing in Pulumi.prod.yaml`);
      }
      const earlier = await runStackFile(PROJECT_DIR, stackFile(beforeText), "prod");
      if (earlier.error !== undefined) {
        throw new Error(
          `impact example "${example.title}": the earlier plan failed: ${errorMessage(earlier.error)}`,
        );
      }
      const before = planSideOf(earlier);
      const run = await runStackFile(PROJECT_DIR, stackFile(afterText), "prod", before);
      const report =
        run.error === undefined
          ? impactReport("prod", before, runSideOf(run), run.warnings)
          : refusedReport("prod", before, errorMessage(run.error));
      sections.push(`#### ${example.title}`, "", renderImpactMarkdown(report));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return prettier.format(sections.join("\n"), { parser: "markdown", printWidth: 110, proseWrap: "preserve" });
}

/** The README with its impact-report examples replaced by `markdown`. */
export function withImpactExamples(readme: string, markdown: string): string {
  return withSection(readme, IMPACT_START, IMPACT_END, markdown);
}

function withSection(readme: string, startMarker: string, endMarker: string, markdown: string): string {
  const start = readme.indexOf(startMarker);
  const end = readme.indexOf(endMarker);
  if (start < 0 || end < start) {
    throw new Error(`README.md has no ${startMarker} ... ${endMarker} section`);
  }
  return `${readme.slice(0, start + startMarker.length)}\n\n${markdown}\n${readme.slice(end)}`;
}

async function main(): Promise<number> {
  const check = process.argv.includes("--check");
  const { markdown, missing } = await componentReference();
  const readme = readFileSync(README, "utf8");
  const updated = withImpactExamples(
    withChangeContract(withReference(readme, markdown), await changeContract()),
    await impactExamples(),
  );
  for (const item of missing) {
    console.error(`missing TSDoc: ${item}`);
  }
  if (check) {
    if (updated !== readme) {
      console.error(
        "README.md's component reference, change contract or impact examples are out of date: run npm run docs",
      );
      return 1;
    }
    return missing.length > 0 ? 1 : 0;
  }
  writeFileSync(README, updated);
  console.log(
    `README.md: component reference written${missing.length ? `, ${missing.length} items lack TSDoc` : ""}`,
  );
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
