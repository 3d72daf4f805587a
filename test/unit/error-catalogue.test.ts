import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CatalogueEntry,
  ERRORS_DOC,
  ERRORS_DOC_COMMAND,
  type ErrorList,
  PROJECT_ROOT,
  catalogueEntries,
  codePrefixOf,
  collectErrorLists,
  defineErrorsCalls,
  renderErrorsDoc,
  sourceFiles,
  workspacePackages,
} from '../../tools/errors-doc.ts';

let lists: ErrorList[];
let entries: CatalogueEntry[];

beforeAll(async () => {
  lists = await collectErrorLists();
  entries = catalogueEntries(lists);
});

describe('error catalogue', () => {
  it('derives a code prefix from the package name', () => {
    expect(codePrefixOf('@granary/index')).toBe('INDEX_');
    expect(codePrefixOf('@granary/app-cli')).toBe('CLI_');
    expect(codePrefixOf('@granary/some-lib')).toBe('SOME_LIB_');
  });

  it('finds every defineErrors list, each exported by the module that declares it', () => {
    const calls = workspacePackages().flatMap((pkg) =>
      sourceFiles(pkg).map((module) => ({ module, calls: defineErrorsCalls(module) })),
    );
    const declaring = calls.filter((c) => c.calls > 0);
    // Sanity: the scan sees the lists everyone knows about.
    expect(declaring.map((c) => c.module)).toEqual(
      expect.arrayContaining([
        'libs/index/src/errors.ts',
        'libs/config/src/load.ts',
        'apps/cli/src/errors.ts',
      ]),
    );
    for (const { module, calls: count } of declaring) {
      const exported = lists.filter((l) => l.module === module);
      expect(exported.length, `${module}: every defineErrors list must be exported`).toBe(count);
    }
  });

  it('reaches every list through its package index.ts', async () => {
    for (const list of lists) {
      const index = (await import(
        pathToFileURL(join(PROJECT_ROOT, list.owner.dir, 'index.ts')).href
      )) as Record<string, unknown>;
      expect(
        Object.values(index).includes(list.factory),
        `${list.owner.dir}/index.ts must export ${list.exportName}`,
      ).toBe(true);
    }
  });

  it('has unique codes across the project', () => {
    const owners = new Map<string, string[]>();
    for (const e of entries) owners.set(e.code, [...(owners.get(e.code) ?? []), e.owner]);
    const duplicated = [...owners].filter(([, by]) => by.length > 1);
    expect(duplicated).toEqual([]);
  });

  it("prefixes each code with its package's prefix", () => {
    const misnamed = lists.flatMap((l) =>
      l.factory.codes
        .filter((code) => !code.startsWith(l.owner.prefix))
        .map((code) => `${l.owner.name}: ${code}`),
    );
    expect(misnamed).toEqual([]);
    for (const e of entries) expect(e.code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/);
  });

  it('gives each code an HTTP error status, a boolean retriable flag and a message', () => {
    expect(entries.length).toBeGreaterThan(50);
    for (const e of entries) {
      expect(Number.isInteger(e.status) && e.status >= 400 && e.status <= 599, `${e.code} status`).toBe(true);
      expect(typeof e.retriable, `${e.code} retriable`).toBe('boolean');
      expect(e.message.trim(), `${e.code} message`).not.toBe('');
    }
  });

  it(`is documented in ${ERRORS_DOC} exactly as the generator writes it`, () => {
    const current = readFileSync(join(PROJECT_ROOT, ERRORS_DOC), 'utf8');
    const generated = renderErrorsDoc(entries);
    if (current !== generated) {
      const stale = entries.filter((e) => !current.includes(`| \`${e.code}\` |`)).map((e) => e.code);
      expect.fail(
        `${ERRORS_DOC} is stale (undocumented: ${stale.join(', ') || 'none; a line differs'}): run ${ERRORS_DOC_COMMAND}`,
      );
    }
  });
});
