import type { Database, Queryable } from './db.ts';
import { described, invalidInput } from './errors.ts';
import { parseTimestamp } from './time.ts';
import { parseUuid } from './uuid.ts';

/** Attribute schemas as Gnocchi's API shows them (snake_case is the wire format, kept verbatim). */
export type AttributeDefinition =
  | { type: 'string'; required: boolean; min_length: number; max_length: number }
  | { type: 'number'; required: boolean; min: number | null; max: number | null }
  | { type: 'uuid' | 'bool' | 'datetime'; required: boolean };

export type AttributeType = AttributeDefinition['type'];

/** Stored attribute values: datetimes are epoch µs, UUIDs canonical lowercase text. */
export type AttributeValue = string | number | boolean | null;

export interface ResourceType {
  name: string;
  /** Always `active`: type changes are transactional here, so Gnocchi's transient states never show. */
  state: 'active';
  attributes: Record<string, AttributeDefinition>;
}

/** One JSON-patch operation of Gnocchi's resource type PATCH. */
export interface ResourceTypePatchOperation {
  op: string;
  path: string;
  value?: unknown;
}

export const GENERIC_TYPE = 'generic';

/**
 * Names a custom attribute may not take: the generic resource fields (Gnocchi's INVALID_NAMES,
 * plus original_resource_id which is a field here too).
 */
const RESERVED_ATTRIBUTE_NAMES = new Set([
  'id',
  'type',
  'metrics',
  'revision',
  'revision_start',
  'revision_end',
  'started_at',
  'ended_at',
  'user_id',
  'project_id',
  'created_by_user_id',
  'created_by_project_id',
  'get_metric',
  'creator',
  'original_resource_id',
  'lifespan',
]);
const ATTRIBUTE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]*$/;
const ATTRIBUTE_TYPES: readonly AttributeType[] = ['string', 'uuid', 'number', 'bool', 'datetime'];
const OPTION_KEYS: Record<AttributeType, readonly string[]> = {
  string: ['min_length', 'max_length'],
  number: ['min', 'max'],
  uuid: [],
  bool: [],
  datetime: [],
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks one value against its schema: the stored form, or voluptuous's reason for refusing it. */
export function checkAttributeValue(
  def: AttributeDefinition,
  value: unknown,
): { value: AttributeValue } | { reason: string } {
  switch (def.type) {
    case 'string':
      if (typeof value !== 'string' || value.includes('\0')) return { reason: 'expected str' };
      if ([...value].length < def.min_length)
        return { reason: `length of value must be at least ${def.min_length}` };
      if ([...value].length > def.max_length)
        return { reason: `length of value must be at most ${def.max_length}` };
      return { value };
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return { reason: 'expected Real' };
      if (def.min !== null && value < def.min) return { reason: `value must be at least ${def.min}` };
      if (def.max !== null && value > def.max) return { reason: `value must be at most ${def.max}` };
      return { value };
    case 'uuid': {
      const uuid = typeof value === 'string' ? parseUuid(value) : undefined;
      return uuid ? { value: uuid } : { reason: 'badly formed hexadecimal UUID string' };
    }
    case 'bool':
      return typeof value === 'boolean' ? { value } : { reason: 'expected bool' };
    case 'datetime': {
      const micros = parseTimestamp(value);
      return micros === undefined ? { reason: 'expected a datetime' } : { value: micros };
    }
  }
}

/**
 * Validates a resource's custom attributes against its type. A full set (create) must carry every
 * required attribute and gets null for absent optional ones, so rows always hold every key; a
 * partial set (update) only checks what it carries.
 */
export function validateAttributes(
  type: ResourceType,
  attributes: Record<string, unknown>,
  mode: 'full' | 'partial',
): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = Object.create(null);
  for (const name of Object.keys(attributes)) {
    if (!Object.hasOwn(type.attributes, name)) {
      throw invalidInput('INDEX_INVALID_RESOURCE', 'extra keys not allowed', [name], false);
    }
  }
  for (const [name, def] of Object.entries(type.attributes)) {
    if (!Object.hasOwn(attributes, name)) {
      if (mode === 'partial') continue;
      if (def.required)
        throw invalidInput('INDEX_INVALID_RESOURCE', 'required key not provided', [name], false);
      out[name] = null;
      continue;
    }
    const raw = attributes[name];
    if (raw === null && !def.required) {
      out[name] = null;
      continue;
    }
    const checked = checkAttributeValue(def, raw);
    if ('reason' in checked) throw invalidInput('INDEX_INVALID_RESOURCE', checked.reason, [name]);
    out[name] = checked.value;
  }
  return out;
}

interface ParsedAttribute {
  definition: AttributeDefinition;
  /** `options` was given (only meaningful in a PATCH), and its `fill` if any. */
  options?: { fill?: AttributeValue };
}

function parseAttributeDefinition(name: string, raw: unknown, allowOptions: boolean): ParsedAttribute {
  const path = ['attributes', name];
  const invalidName = () =>
    described('INDEX_INVALID_RESOURCE_TYPE', `Invalid input: Resource attribute name ${name} is invalid`);
  if (name.length > 63 || RESERVED_ATTRIBUTE_NAMES.has(name) || !ATTRIBUTE_NAME.test(name))
    throw invalidName();
  if (!isObject(raw)) throw invalidInput('INDEX_INVALID_RESOURCE_TYPE', 'expected a dictionary', path);
  const type = raw.type as AttributeType;
  if (!ATTRIBUTE_TYPES.includes(type))
    throw invalidInput('INDEX_INVALID_RESOURCE_TYPE', 'not a valid value', [...path, 'type']);
  const allowed = new Set(['type', 'required', ...OPTION_KEYS[type], ...(allowOptions ? ['options'] : [])]);
  for (const key of Object.keys(raw)) {
    if (!allowed.has(key))
      throw invalidInput('INDEX_INVALID_RESOURCE_TYPE', 'extra keys not allowed', [...path, key], false);
  }
  const required = raw.required ?? true;
  if (typeof required !== 'boolean')
    throw invalidInput('INDEX_INVALID_RESOURCE_TYPE', 'expected bool', [...path, 'required']);
  const integerOption = (key: string, fallback: number, min: number): number => {
    const v = raw[key] ?? fallback;
    if (!Number.isSafeInteger(v) || (v as number) < min) {
      throw invalidInput('INDEX_INVALID_RESOURCE_TYPE', `value must be an integer of at least ${min}`, [
        ...path,
        key,
      ]);
    }
    return v as number;
  };
  const numberOption = (key: string): number | null => {
    const v = raw[key] ?? null;
    if (v !== null && (typeof v !== 'number' || !Number.isFinite(v))) {
      throw invalidInput('INDEX_INVALID_RESOURCE_TYPE', 'expected Real', [...path, key]);
    }
    return v as number | null;
  };
  let definition: AttributeDefinition;
  if (type === 'string') {
    definition = {
      type,
      required,
      min_length: integerOption('min_length', 0, 0),
      max_length: integerOption('max_length', 256, 1),
    };
    if (definition.min_length > definition.max_length) {
      throw described(
        'INDEX_INVALID_RESOURCE_TYPE',
        `Invalid input: min_length ${definition.min_length} of resource attribute ${name} is greater than max_length ${definition.max_length}`,
      );
    }
  } else if (type === 'number') {
    definition = { type, required, min: numberOption('min'), max: numberOption('max') };
    if (definition.min !== null && definition.max !== null && definition.min > definition.max) {
      throw described(
        'INDEX_INVALID_RESOURCE_TYPE',
        `Invalid input: min ${definition.min} of resource attribute ${name} is greater than max ${definition.max}`,
      );
    }
  } else {
    definition = { type, required };
  }
  if (raw.options === undefined) return { definition };
  if (!isObject(raw.options))
    throw invalidInput('INDEX_INVALID_RESOURCE_TYPE', 'expected a dictionary', [...path, 'options']);
  const fill = raw.options.fill;
  if (fill === undefined || fill === null) return { definition, options: {} };
  const checked = checkAttributeValue(definition, fill);
  if ('reason' in checked) throw invalidFill(name, checked.reason);
  return { definition, options: { fill: checked.value } };
}

const invalidFill = (attribute: string, reason: string) =>
  described(
    'INDEX_INVALID_RESOURCE_TYPE',
    `Invalid input: Option 'fill' of resource attribute ${attribute} is invalid: ${reason}`,
  );

interface TypeRow {
  name: string;
  attributes: Record<string, AttributeDefinition>;
}

const toType = (row: TypeRow): ResourceType => ({
  name: row.name,
  state: 'active',
  attributes: row.attributes,
});

export const noSuchResourceType = (name: string) =>
  described('INDEX_NO_SUCH_RESOURCE_TYPE', `Resource type ${name} does not exist`, { name });

/**
 * Loads a type, or fails with INDEX_NO_SUCH_RESOURCE_TYPE. Resource writes take it `FOR KEY SHARE`:
 * they run side by side yet wait for a concurrent type PATCH (`FOR UPDATE`), so every row is
 * validated against the schema it is stored under.
 */
export async function loadResourceType(
  q: Queryable,
  name: string,
  lock: 'none' | 'resource write' | 'type change',
): Promise<ResourceType> {
  const clause = { none: '', 'resource write': 'FOR KEY SHARE', 'type change': 'FOR UPDATE' }[lock];
  const { rows } = await q.query<TypeRow>(
    `SELECT name, attributes FROM resource_type WHERE name = $1 ${clause}`,
    [name],
  );
  if (!rows[0]) throw noSuchResourceType(name);
  return toType(rows[0]);
}

export class ResourceTypes {
  constructor(private readonly db: Database) {}

  async create(input: { name: string; attributes?: Record<string, unknown> }): Promise<ResourceType> {
    const { name } = input;
    if (typeof name !== 'string' || name.length === 0 || name.length > 255 || name.includes('/')) {
      throw invalidInput('INDEX_INVALID_RESOURCE_TYPE', 'not a valid value', ['name']);
    }
    const rawAttributes = input.attributes ?? {};
    if (!isObject(rawAttributes))
      throw invalidInput('INDEX_INVALID_RESOURCE_TYPE', 'expected a dictionary', ['attributes']);
    // Attribute names are the client's: dictionaries without a prototype.
    const attributes: Record<string, AttributeDefinition> = Object.create(null);
    for (const [attr, raw] of Object.entries(rawAttributes)) {
      attributes[attr] = parseAttributeDefinition(attr, raw, false).definition;
    }
    const rows = await this.db.query<TypeRow>(
      'INSERT INTO resource_type (name, attributes) VALUES ($1, $2) RETURNING name, attributes',
      [name, JSON.stringify(attributes)],
      (constraint) =>
        constraint === 'resource_type_pkey'
          ? described('INDEX_RESOURCE_TYPE_ALREADY_EXISTS', `Resource type ${name} already exists`, { name })
          : undefined,
    );
    return toType(rows[0]!);
  }

  async get(name: string): Promise<ResourceType | undefined> {
    const rows = await this.db.query<TypeRow>('SELECT name, attributes FROM resource_type WHERE name = $1', [
      name,
    ]);
    return rows[0] && toType(rows[0]);
  }

  async list(): Promise<ResourceType[]> {
    return (await this.db.query<TypeRow>('SELECT name, attributes FROM resource_type ORDER BY name')).map(
      toType,
    );
  }

  async delete(name: string): Promise<void> {
    const inUse = () =>
      described('INDEX_RESOURCE_TYPE_IN_USE', `Resource type ${name} is still in use`, { name });
    if (name === GENERIC_TYPE) throw inUse();
    const rows = await this.db.query(
      'DELETE FROM resource_type WHERE name = $1 RETURNING name',
      [name],
      (constraint) => (constraint === 'resource_type_fk' ? inUse() : undefined),
    );
    if (rows.length === 0) throw noSuchResourceType(name);
  }

  /**
   * Gnocchi's JSON-patch of `/attributes/<name>` (add, remove). New required attributes, and ones
   * turning required, need `options.fill`, which is written into every existing resource and
   * revision of the type in the same transaction.
   */
  async patch(name: string, operations: unknown): Promise<ResourceType> {
    const ops = validatePatchShape(operations);
    return this.db.transaction(async (tx) => {
      const current = await loadResourceType(tx, name, 'type change');
      const next = applyPatch(current.attributes, ops);
      for (const [attr, def] of Object.entries(current.attributes)) {
        const nextType = (next[attr] as { type?: unknown } | undefined)?.type;
        if (next[attr] !== undefined && nextType !== def.type) {
          throw described(
            'INDEX_INVALID_RESOURCE_TYPE',
            `Type update is not available yet. Changing ${def.type} to ${String(nextType)} for attribute ${attr} of resource ${name}`,
          );
        }
      }
      const attributes: Record<string, AttributeDefinition> = Object.create(null);
      const added: Record<string, AttributeValue> = Object.create(null);
      const filledWhereNull: Record<string, AttributeValue> = Object.create(null);
      for (const [attr, raw] of Object.entries(next)) {
        const previous = Object.hasOwn(current.attributes, attr) ? current.attributes[attr] : undefined;
        if (previous !== undefined && raw === previous) {
          attributes[attr] = previous;
          continue;
        }
        const parsed = parseAttributeDefinition(attr, raw, true);
        attributes[attr] = parsed.definition;
        const becomesRequired = parsed.definition.required && !previous?.required;
        const fill = parsed.options?.fill;
        if (becomesRequired && fill === undefined)
          throw invalidFill(attr, 'must not be empty if required=True');
        if (previous === undefined) added[attr] = fill ?? null;
        else if (fill !== undefined) filledWhereNull[attr] = fill;
      }
      const removed = Object.keys(current.attributes).filter((attr) => next[attr] === undefined);
      for (const table of ['resource', 'resource_history']) {
        await tx.query(
          `UPDATE ${table} SET attributes = (attributes - $2::text[]) || $3::jsonb || coalesce(
             (SELECT jsonb_object_agg(f.key, f.value) FROM jsonb_each($4::jsonb) AS f
               WHERE coalesce(attributes -> f.key, 'null'::jsonb) = 'null'::jsonb), '{}'::jsonb)
           WHERE type = $1`,
          [name, removed, JSON.stringify(added), JSON.stringify(filledWhereNull)],
        );
      }
      await tx.query('UPDATE resource_type SET attributes = $2, updated_at = now() WHERE name = $1', [
        name,
        JSON.stringify(attributes),
      ]);
      return { name, state: 'active' as const, attributes };
    });
  }
}

function validatePatchShape(operations: unknown): ResourceTypePatchOperation[] {
  if (!Array.isArray(operations)) throw invalidInput('INDEX_INVALID_RESOURCE_TYPE', 'expected a list', []);
  return operations.map((op, i) => {
    if (!isObject(op)) throw invalidInput('INDEX_INVALID_RESOURCE_TYPE', 'expected a dictionary', [i]);
    if (op.op !== 'add' && op.op !== 'remove')
      throw invalidInput('INDEX_INVALID_RESOURCE_TYPE', 'not a valid value', [i, 'op']);
    if (typeof op.path !== 'string')
      throw invalidInput('INDEX_INVALID_RESOURCE_TYPE', 'expected str', [i, 'path']);
    if (op.op === 'add' && !isObject(op.value))
      throw invalidInput('INDEX_INVALID_RESOURCE_TYPE', 'expected a dictionary', [i, 'value']);
    return { op: op.op, path: op.path, value: op.value };
  });
}

/** Applies the operations to a copy of the attribute map, with python-jsonpatch's error texts. */
function applyPatch(
  current: Record<string, AttributeDefinition>,
  ops: ResourceTypePatchOperation[],
): Record<string, unknown> {
  const next: Record<string, unknown> = { ...current };
  for (const { op, path, value } of ops) {
    const match = /^\/attributes\/([^/]+)$/.exec(path);
    if (!match)
      throw described('INDEX_INVALID_RESOURCE_TYPE', `Invalid input: path ${path} cannot be patched`);
    const attr = match[1]!.replaceAll('~1', '/').replaceAll('~0', '~');
    if (op === 'remove') {
      if (!Object.hasOwn(next, attr))
        throw described('INDEX_INVALID_RESOURCE_TYPE', `can't remove a non-existent object '${attr}'`);
      delete next[attr];
    } else {
      next[attr] = value;
    }
  }
  return next;
}
