/**
 * Turns the `.avsc` files of `schemas/` into TypeScript: one interface (or union type for enums)
 * per named Avro type and one `AvroSchema<T>` constant per file. The output is committed as
 * `src/generated.ts`; a unit test regenerates it and fails when it differs, so a schema change
 * must be followed by `npm run generate -w @granary/schema`, after which `tsc` fails wherever the
 * code does not follow the new types.
 */

type AvroJson = string | AvroJson[] | { [key: string]: unknown };

export interface SchemaFile {
  /** File name under `schemas/`, e.g. `sample.avsc`. */
  file: string;
  /** Parsed JSON of the file. */
  definition: Record<string, unknown>;
}

const PRIMITIVES: Record<string, string> = {
  null: 'null',
  boolean: 'boolean',
  int: 'number',
  // avsc reads `long` as a JS number and refuses values beyond 2^53 rather than losing precision.
  long: 'number',
  float: 'number',
  double: 'number',
  string: 'string',
  bytes: 'Buffer',
};

export function generateTypeScript(files: readonly SchemaFile[]): string {
  const declarations: string[] = [];
  const constants: string[] = [];
  const declared = new Set<string>();

  const typeOf = (schema: AvroJson): string => {
    if (typeof schema === 'string') return PRIMITIVES[schema] ?? simpleName(schema);
    if (Array.isArray(schema)) return schema.map(typeOf).join(' | ');
    const type = schema.type as AvroJson;
    if (typeof type !== 'string') return typeOf(type);
    switch (type) {
      case 'record':
        declareRecord(schema);
        return schema.name as string;
      case 'enum':
        declareEnum(schema);
        return schema.name as string;
      case 'array': {
        const items = typeOf(schema.items as AvroJson);
        return items.includes('|') ? `Array<${items}>` : `${items}[]`;
      }
      case 'map':
        return `Record<string, ${typeOf(schema.values as AvroJson)}>`;
      case 'fixed':
        return 'Buffer';
      default:
        // A primitive written as an object, possibly with a logical type that avsc leaves as is.
        return typeOf(type);
    }
  };

  const declareRecord = (schema: Record<string, unknown>): void => {
    const name = schema.name as string;
    if (declared.has(name)) return;
    declared.add(name);
    const fields = (schema.fields as Array<Record<string, unknown>>).map(
      (field) =>
        `${docComment(field.doc, '  ')}  ${field.name as string}: ${typeOf(field.type as AvroJson)};`,
    );
    declarations.push(`${docComment(schema.doc, '')}export interface ${name} {\n${fields.join('\n')}\n}`);
  };

  const declareEnum = (schema: Record<string, unknown>): void => {
    const name = schema.name as string;
    if (declared.has(name)) return;
    declared.add(name);
    const symbols = (schema.symbols as string[]).map((s) => `'${s}'`).join(' | ');
    declarations.push(`${docComment(schema.doc, '')}export type ${name} = ${symbols};`);
  };

  for (const { file, definition } of files) {
    const typeName = typeOf(definition);
    const fullName = definition.namespace ? `${definition.namespace}.${definition.name}` : definition.name;
    constants.push(
      `/** \`schemas/${file}\`. */\nexport const ${camelCase(typeName)}Schema: AvroSchema<${typeName}> = {\n` +
        `  name: '${fullName as string}',\n  file: '${file}',\n` +
        `  definition: ${JSON.stringify(definition)},\n};`,
    );
  }

  return [
    '// Generated from schemas/*.avsc by libs/schema/generate.ts. Do not edit: change the .avsc file and run',
    '// `npm run generate -w @granary/schema`; libs/schema/test/generated.test.ts fails while this is stale.',
    '',
    "import type { AvroSchema } from './avro-schema.ts';",
    '',
    declarations.join('\n\n'),
    '',
    constants.join('\n\n'),
    '',
  ].join('\n');
}

function simpleName(fullName: string): string {
  return fullName.slice(fullName.lastIndexOf('.') + 1);
}

function camelCase(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function docComment(doc: unknown, indent: string): string {
  return typeof doc === 'string' ? `${indent}/** ${doc.replaceAll('*/', '*\\/')} */\n` : '';
}
