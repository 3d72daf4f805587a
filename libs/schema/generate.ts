/** Regenerates src/generated.ts from schemas/*.avsc (`npm run generate -w @granary/schema`). */
import { writeFileSync } from 'node:fs';
import { GENERATED_FILE, renderGeneratedFile } from './src/schema-files.ts';

writeFileSync(GENERATED_FILE, renderGeneratedFile());
console.log(`wrote ${GENERATED_FILE}`);
