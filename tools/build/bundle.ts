/**
 * `make dist`: one ES-module bundle per app, `dist/<app>.mjs`, which production runs with plain
 * `node` (docs/adr/0017-running-production-code.md). The workspace's own packages (@granary/*) are
 * bundled; every npm dependency stays an import from node_modules.
 */
import { readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { type Plugin, build } from 'esbuild';

const PROJECT_ROOT = join(import.meta.dirname, '..', '..');
/** `dist/` unless given (tests bundle elsewhere; it must be inside the project to find node_modules). */
const OUT_DIR = resolve(process.argv[2] ?? join(PROJECT_ROOT, 'dist'));
const APPS = readdirSync(join(PROJECT_ROOT, 'apps')).filter((app) =>
  readdirSync(join(PROJECT_ROOT, 'apps', app)).includes('main.ts'),
);

/** npm packages are resolved by node at run time; only the workspace's sources go in the bundle. */
const dependenciesStayExternal: Plugin = {
  name: 'dependencies-stay-external',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@granary/') ? undefined : { path: args.path, external: true },
    );
  },
};

/**
 * Sources find their data files (schemas, pollster definitions, resource types) with
 * `new URL('../x', import.meta.url)`. In a bundle, import.meta.url is the bundle's: each module's
 * import.meta.url is replaced by its source file's URL, computed from the bundle's location so the
 * result is right wherever the tree is (the image copies the sources' data files beside dist/).
 */
const importMetaUrlIsTheSourceFile: Plugin = {
  name: 'import-meta-url-is-the-source-file',
  setup(esbuild) {
    esbuild.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const fromBundle = relative(OUT_DIR, args.path);
      return {
        contents: source.replaceAll(
          'import.meta.url',
          `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`,
        ),
        loader: 'ts',
      };
    });
  },
};

rmSync(OUT_DIR, { recursive: true, force: true });
const started = performance.now();
await build({
  entryPoints: Object.fromEntries(APPS.map((app) => [app, join(PROJECT_ROOT, 'apps', app, 'main.ts')])),
  outdir: OUT_DIR,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  sourcemap: 'linked',
  // Stack traces point at the TypeScript sources.
  sourcesContent: false,
  logLevel: 'warning',
  plugins: [dependenciesStayExternal, importMetaUrlIsTheSourceFile],
});
console.log(
  `${relative(PROJECT_ROOT, OUT_DIR)}: ${APPS.map((app) => `${app}.mjs`).join(', ')} in ${Math.round(performance.now() - started)} ms`,
);
