import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { type SchemaFile, generateTypeScript } from './codegen.ts';

/** The repository's `schemas/` directory, the source of truth for every Avro type. */
export const SCHEMAS_DIRECTORY = fileURLToPath(new URL('../../../schemas/', import.meta.url));

/** Every `.avsc` file of `schemas/`, parsed, in file-name order so generation is deterministic. */
export function readSchemaFiles(directory = SCHEMAS_DIRECTORY): SchemaFile[] {
  return readdirSync(directory)
    .filter((file) => file.endsWith('.avsc'))
    .sort()
    .map((file) => ({ file, definition: JSON.parse(readFileSync(`${directory}${file}`, 'utf8')) }));
}

/** Where the generated types live. */
export const GENERATED_FILE = fileURLToPath(new URL('./generated.ts', import.meta.url));

/**
 * The expected content of `src/generated.ts`: the generator's output formatted by the repository's
 * Biome, so the committed file passes `biome check` and the staleness test compares like with like.
 */
export function renderGeneratedFile(): string {
  const biome = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome');
  return execFileSync(process.execPath, [biome, 'format', `--stdin-file-path=${GENERATED_FILE}`], {
    input: generateTypeScript(readSchemaFiles()),
    encoding: 'utf8',
  });
}
