/**
 * The error catalogue: every `defineErrors` list of every lib and app, rendered as docs/errors.md.
 * `npx tsx tools/errors-doc.ts` prints the document, `--write` replaces docs/errors.md
 * (`make errors-doc`). test/unit/error-catalogue.test.ts checks the lists and that the document is
 * current — the model is fastify's test of lib/errors.js against its Errors.md.
 */
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ErrorFactory, GranaryError } from '@granary/errors';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ERRORS_DOC = 'docs/errors.md';
export const ERRORS_DOC_COMMAND = 'make errors-doc (npx tsx tools/errors-doc.ts --write)';

/** A workspace package (libs/* or apps/*) and the prefix its error codes carry. */
export interface WorkspacePackage {
  /** Relative to the project root, e.g. `libs/index`. */
  dir: string;
  /** The npm name, e.g. `@granary/index`, `@granary/app-cli`. */
  name: string;
  /** `INDEX_` for @granary/index, `CLI_` for @granary/app-cli: the name without scope or `app-`. */
  prefix: string;
}

/** One `defineErrors` list: where it is declared and what it declares. */
export interface ErrorList {
  owner: WorkspacePackage;
  /** The module that calls `defineErrors`, relative to the project root. */
  module: string;
  /** The export name of the list in that module. */
  exportName: string;
  factory: ErrorFactory<string>;
}

/** A catalogued code: what a client, an operator or a retry loop sees of it. */
export interface CatalogueEntry {
  code: string;
  owner: string;
  status: number;
  retriable: boolean;
  message: string;
}

export function codePrefixOf(packageName: string): string {
  const bare = packageName.replace(/^@granary\//, '').replace(/^app-/, '');
  return `${bare.toUpperCase().replaceAll('-', '_')}_`;
}

export function workspacePackages(root = PROJECT_ROOT): WorkspacePackage[] {
  const packages: WorkspacePackage[] = [];
  for (const group of ['libs', 'apps']) {
    for (const entry of readdirSync(join(root, group)).sort()) {
      const dir = `${group}/${entry}`;
      let manifest: string;
      try {
        manifest = readFileSync(join(root, dir, 'package.json'), 'utf8');
      } catch {
        continue;
      }
      const name = (JSON.parse(manifest) as { name: string }).name;
      packages.push({ dir, name, prefix: codePrefixOf(name) });
    }
  }
  return packages;
}

/** Source files of a package (its index.ts and src/), relative to the project root. */
export function sourceFiles(pkg: WorkspacePackage, root = PROJECT_ROOT): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir)).sort()) {
      const path = `${dir}/${entry}`;
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else if (path.endsWith('.ts')) files.push(path);
    }
  };
  try {
    walk(`${pkg.dir}/src`);
  } catch {
    // A package without src/ (only an index.ts) declares nothing.
  }
  return files;
}

/** How many times a source file calls `defineErrors(`: each call must be one exported list. */
export function defineErrorsCalls(file: string, root = PROJECT_ROOT): number {
  return readFileSync(join(root, file), 'utf8').match(/\bdefineErrors\s*\(/g)?.length ?? 0;
}

export function isErrorFactory(value: unknown): value is ErrorFactory<string> {
  return (
    typeof value === 'function' &&
    Array.isArray((value as { codes?: unknown }).codes) &&
    typeof (value as { is?: unknown }).is === 'function'
  );
}

/** Every list exported by a module that calls `defineErrors`, in libs then apps, in file order. */
export async function collectErrorLists(root = PROJECT_ROOT): Promise<ErrorList[]> {
  const lists: ErrorList[] = [];
  for (const owner of workspacePackages(root)) {
    for (const module of sourceFiles(owner, root)) {
      if (defineErrorsCalls(module, root) === 0) continue;
      const exports = (await import(pathToFileURL(join(root, module)).href)) as Record<string, unknown>;
      for (const [exportName, value] of Object.entries(exports)) {
        if (isErrorFactory(value)) lists.push({ owner, module, exportName, factory: value });
      }
    }
  }
  return lists;
}

/** A code's message, status and retriable flag, read from the error its list makes. */
export function catalogueEntries(lists: readonly ErrorList[]): CatalogueEntry[] {
  return lists.flatMap(({ owner, factory }) =>
    factory.codes.map((code) => {
      const error: GranaryError = factory(code);
      return {
        code,
        owner: owner.name,
        status: error.status,
        retriable: error.retriable,
        message: error.message,
      };
    }),
  );
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

export function renderErrorsDoc(entries: readonly CatalogueEntry[]): string {
  const lines = [
    '# Error codes',
    '',
    `<!-- Generated from every defineErrors list by tools/errors-doc.ts; do not edit: run ${ERRORS_DOC_COMMAND}. -->`,
    '',
    'Every error Granary raises carries one of these codes (`GranaryError.code`). The status is the',
    'HTTP status where the error reaches an API client (the CLI maps it to its exit code); retriable',
    'says whether the same operation may succeed if tried again. Dead letters carry the code in their',
    '`granary.error.code` header, so operators see these names too.',
    '',
    '| Code | Lib | HTTP status | Retriable | Message |',
    '| --- | --- | --- | --- | --- |',
    ...entries.map(
      (e) =>
        `| \`${e.code}\` | ${e.owner} | ${e.status} | ${e.retriable ? 'yes' : 'no'} | ${cell(e.message)} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

export async function generateErrorsDoc(root = PROJECT_ROOT): Promise<string> {
  return renderErrorsDoc(catalogueEntries(await collectErrorLists(root)));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const doc = await generateErrorsDoc();
  if (process.argv.includes('--write')) {
    writeFileSync(join(PROJECT_ROOT, ERRORS_DOC), doc);
    process.stderr.write(`wrote ${relative(process.cwd(), join(PROJECT_ROOT, ERRORS_DOC)) || ERRORS_DOC}\n`);
  } else {
    process.stdout.write(doc);
  }
}
