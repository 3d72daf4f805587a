import { described } from '../errors.ts';
import type { SortExpression } from '../pagination.ts';
import type { AttributeDefinition, ResourceType } from '../resource-types.ts';
import { checkAttributeValue } from '../resource-types.ts';
import { parseTimespanSeconds, parseTimestamp } from '../time.ts';
import { isResourceIdProblem, resourceUuid } from '../uuid.ts';
import type { ComparisonOperator, FilterScalar, ResourceFilter } from './parse.ts';

/** Collects bind parameters; every value from a filter reaches SQL only as `$n`. */
export class SqlParams {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** How a searchable name maps to SQL, and how its filter values are converted. */
type Field =
  | { kind: 'id' }
  | { kind: 'text'; column: string }
  | { kind: 'timestamp'; column: string }
  | { kind: 'attribute'; name: string; definition: AttributeDefinition }
  | { kind: 'lifespan' }
  | { kind: 'created_by'; part: 'user' | 'project' };

// A Map: field names come from the request (`constructor` must not resolve to Object's).
const GENERIC_FIELDS = new Map<string, Field>(
  Object.entries({
    id: { kind: 'id' },
    type: { kind: 'text', column: 'type' },
    creator: { kind: 'text', column: 'creator' },
    original_resource_id: { kind: 'text', column: 'original_resource_id' },
    user_id: { kind: 'text', column: 'user_id' },
    project_id: { kind: 'text', column: 'project_id' },
    started_at: { kind: 'timestamp', column: 'started_at' },
    ended_at: { kind: 'timestamp', column: 'ended_at' },
    revision_start: { kind: 'timestamp', column: 'revision_start' },
    revision_end: { kind: 'timestamp', column: 'revision_end' },
    lifespan: { kind: 'lifespan' },
    created_by_user_id: { kind: 'created_by', part: 'user' },
    created_by_project_id: { kind: 'created_by', part: 'project' },
  } satisfies Record<string, Field>),
);

const SQL_OPERATORS: Record<Exclude<ComparisonOperator, 'ne'>, string> = {
  eq: '=',
  lt: '<',
  le: '<=',
  gt: '>',
  ge: '>=',
  like: 'LIKE',
};

export interface CompileContext {
  type: ResourceType;
  /** SQL alias of the searched row source. */
  alias: string;
  /** Non-UUID ids in filters are mapped with the searching user's creator, as Gnocchi does. */
  creator: string | null;
  params: SqlParams;
}

function fieldFor(ctx: CompileContext, name: string): Field {
  const generic = GENERIC_FIELDS.get(name);
  if (generic) return generic;
  const definition = Object.hasOwn(ctx.type.attributes, name) ? ctx.type.attributes[name] : undefined;
  if (definition) return { kind: 'attribute', name, definition };
  throw described('INDEX_INVALID_FILTER', `Resource type ${ctx.type.name} has no ${name} attribute`, {
    attribute: name,
  });
}

const invalidValue = (value: unknown, name: string) =>
  described('INDEX_INVALID_FILTER', `Invalid value: \`${String(value)}' for attribute \`${name}'`, {
    attribute: name,
  });

/** Python's `str()` of a JSON scalar, which is what Gnocchi compares text columns with. */
const pythonText = (value: Exclude<FilterScalar, null>): string =>
  typeof value === 'boolean' ? (value ? 'True' : 'False') : String(value);

/** Generic fields that are never NULL: sorting by them allows index-friendly keyset conditions. */
const NON_NULL_FIELDS = new Set(['id', 'type', 'original_resource_id', 'started_at', 'revision_start']);

/** A searchable name as an ORDER BY expression; undefined when the type has no such name. */
export function sortExpression(ctx: CompileContext, name: string): SortExpression | undefined {
  const field =
    GENERIC_FIELDS.get(name) ?? (Object.hasOwn(ctx.type.attributes, name) ? fieldFor(ctx, name) : undefined);
  return field && { sql: fieldExpression(ctx, field).sql, nullable: !NON_NULL_FIELDS.has(name) };
}

function fieldExpression(ctx: CompileContext, field: Field): { sql: string; cast: string } {
  const r = ctx.alias;
  switch (field.kind) {
    case 'id':
      return { sql: `${r}.id`, cast: 'uuid' };
    case 'text':
      return { sql: `${r}.${field.column}`, cast: 'text' };
    case 'timestamp':
      return { sql: `${r}.${field.column}`, cast: 'timestamptz' };
    case 'lifespan':
      return { sql: `(${r}.ended_at - ${r}.started_at)`, cast: 'interval' };
    case 'created_by':
      return { sql: `split_part(${r}.creator, ':', ${field.part === 'user' ? 1 : 2})`, cast: 'text' };
    case 'attribute': {
      const text = `(${r}.attributes ->> ${ctx.params.add(field.name)}::text)`;
      const type = field.definition.type;
      if (type === 'number') return { sql: `${text}::float8`, cast: 'float8' };
      if (type === 'bool') return { sql: `${text}::boolean`, cast: 'boolean' };
      if (type === 'datetime') return { sql: `${text}::bigint`, cast: 'bigint' };
      return { sql: text, cast: 'text' };
    }
  }
}

/** PostgreSQL's interval keeps its time part in int64 µs: anything beyond overflows the comparison. */
const MAX_INTERVAL_SECONDS = 9e12;

/** Converts one filter value to the parameter the field's SQL compares with. */
function convert(
  ctx: CompileContext,
  field: Field,
  name: string,
  value: Exclude<FilterScalar, null>,
): unknown {
  switch (field.kind) {
    case 'id': {
      const id = resourceUuid(String(value), ctx.creator);
      if (isResourceIdProblem(id)) throw invalidValue(value, name);
      return id;
    }
    case 'text':
    case 'created_by':
      return pythonText(value);
    case 'timestamp': {
      const micros = parseTimestamp(value);
      if (micros === undefined) throw invalidValue(value, name);
      return micros;
    }
    case 'lifespan': {
      const seconds = parseTimespanSeconds(value);
      if (seconds === undefined || Math.abs(seconds) > MAX_INTERVAL_SECONDS) throw invalidValue(value, name);
      return seconds;
    }
    case 'attribute': {
      const checked = checkAttributeValue(unbounded(field.definition), value);
      if ('reason' in checked) throw invalidValue(value, name);
      return checked.value;
    }
  }
}

/** Filter values are compared with, not validated against, an attribute's length and range limits. */
function unbounded(def: AttributeDefinition): AttributeDefinition {
  if (def.type === 'string') return { ...def, min_length: 0, max_length: Number.MAX_SAFE_INTEGER };
  if (def.type === 'number') return { ...def, min: null, max: null };
  return def;
}

function parameter(ctx: CompileContext, field: Field, cast: string, converted: unknown): string {
  if (field.kind === 'timestamp') return `granary_micros_to_timestamp(${ctx.params.add(converted)}::bigint)`;
  if (field.kind === 'lifespan') return `(${ctx.params.add(converted)}::float8 * interval '1 second')`;
  return `${ctx.params.add(converted)}::${cast}`;
}

function compileComparison(
  ctx: CompileContext,
  operator: ComparisonOperator,
  name: string,
  value: FilterScalar,
): string {
  const field = fieldFor(ctx, name);
  if (field.kind === 'created_by') {
    if (value === null || !['eq', 'ne', 'like'].includes(operator)) throw invalidValue(value, name);
    // Gnocchi matches the creator's `user:project` text with a LIKE pattern built around the value.
    const pattern = field.part === 'user' ? `${pythonText(value)}:%` : `%:${pythonText(value)}`;
    const like = `${ctx.alias}.creator LIKE ${ctx.params.add(pattern)}`;
    return operator === 'ne' ? `NOT (${like})` : like;
  }
  if (operator === 'eq' && field.kind === 'attribute' && value !== null) {
    // Containment uses the GIN index on attributes.
    const converted = convert(ctx, field, name, value);
    return `${ctx.alias}.attributes @> ${ctx.params.add(JSON.stringify({ [name]: converted }))}::jsonb`;
  }
  const { sql, cast } = fieldExpression(ctx, field);
  if (value === null) {
    if (operator === 'eq') return `${sql} IS NULL`;
    if (operator === 'ne') return `${sql} IS NOT NULL`;
    return 'FALSE';
  }
  if (operator === 'like' && cast !== 'text') throw invalidValue(value, name);
  const converted = convert(ctx, field, name, value);
  const param = parameter(ctx, field, cast, converted);
  if (operator === 'ne') return `(${sql} IS NULL OR ${sql} <> ${param})`;
  return `${sql} ${SQL_OPERATORS[operator]} ${param}`;
}

function compileIn(ctx: CompileContext, name: string, values: FilterScalar[]): string {
  const field = fieldFor(ctx, name);
  if (field.kind === 'created_by' || field.kind === 'lifespan') throw invalidValue(values, name);
  const { sql, cast } = fieldExpression(ctx, field);
  const present = values.filter((v): v is Exclude<FilterScalar, null> => v !== null);
  if (present.length === 0) return 'FALSE';
  const converted = present.map((v) => convert(ctx, field, name, v));
  if (field.kind === 'timestamp') {
    return `${sql} IN (SELECT granary_micros_to_timestamp(v) FROM unnest(${ctx.params.add(converted)}::bigint[]) AS v)`;
  }
  return `${sql} = ANY(${ctx.params.add(converted)}::${cast}[])`;
}

/** Compiles a parsed filter to a SQL boolean expression over `ctx.alias`, values as parameters. */
export function compileFilter(filter: ResourceFilter, ctx: CompileContext): string {
  switch (filter.kind) {
    case 'and':
    case 'or':
      return `(${filter.operands.map((f) => compileFilter(f, ctx)).join(filter.kind === 'and' ? ' AND ' : ' OR ')})`;
    case 'not':
      return `NOT (${compileFilter(filter.operand, ctx)})`;
    case 'compare':
      return compileComparison(ctx, filter.operator, filter.attribute, filter.value);
    case 'in':
      return compileIn(ctx, filter.attribute, filter.values);
  }
}
