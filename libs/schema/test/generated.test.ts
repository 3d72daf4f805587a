import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateTypeScript } from '../src/codegen.ts';
import { GENERATED_FILE, readSchemaFiles, renderGeneratedFile } from '../src/schema-files.ts';

describe('types generated from schemas/*.avsc', () => {
  it('are up to date (run `npm run generate -w @granary/schema` after changing a schema)', () => {
    expect(readFileSync(GENERATED_FILE, 'utf8')).toBe(renderGeneratedFile());
  });

  it('document every record, enum and field of every schema', () => {
    const undocumented: string[] = [];
    const visit = (node: unknown, path: string): void => {
      if (Array.isArray(node)) {
        node.forEach((item, i) => visit(item, `${path}[${i}]`));
        return;
      }
      if (!node || typeof node !== 'object') return;
      const schema = node as Record<string, unknown>;
      if ((schema.type === 'record' || schema.type === 'enum') && typeof schema.doc !== 'string') {
        undocumented.push(path);
      }
      for (const field of (schema.fields as Array<Record<string, unknown>> | undefined) ?? []) {
        if (typeof field.doc !== 'string') undocumented.push(`${path}.${field.name as string}`);
        visit(field.type, `${path}.${field.name as string}`);
      }
      visit(schema.items, `${path}[]`);
    };
    for (const { file, definition } of readSchemaFiles()) visit(definition, file);
    expect(undocumented).toEqual([]);
  });

  it('map Avro types to TypeScript: nullable unions, enums, arrays, maps, logical types', () => {
    const source = generateTypeScript([
      {
        file: 'thing.avsc',
        definition: {
          type: 'record',
          name: 'Thing',
          namespace: 'x',
          doc: 'A thing.',
          fields: [
            { name: 'when', type: { type: 'long', logicalType: 'timestamp-micros' }, doc: 'When.' },
            { name: 'note', type: ['null', 'string'], default: null },
            { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['a', 'b'] } },
            { name: 'again', type: 'x.Kind' },
            { name: 'tags', type: { type: 'map', values: 'string' } },
            { name: 'maybe', type: { type: 'array', items: ['null', 'double'] } },
            { name: 'raw', type: 'bytes' },
          ],
        },
      },
    ]);
    expect(source).toContain('export interface Thing {');
    expect(source).toContain('  /** When. */\n  when: number;');
    expect(source).toContain('  note: null | string;');
    expect(source).toContain("export type Kind = 'a' | 'b';");
    expect(source).toContain('  kind: Kind;\n  again: Kind;');
    expect(source).toContain('  tags: Record<string, string>;');
    expect(source).toContain('  maybe: Array<null | number>;');
    expect(source).toContain('  raw: Buffer;');
    expect(source).toContain("export const thingSchema: AvroSchema<Thing> = {\n  name: 'x.Thing',");
  });
});
