import { type InvalidInputDescription, describedRestError } from './errors.ts';

/** The fields of an Ajv error this module reads (fastify attaches them as `error.validation`). */
export interface SchemaViolation {
  keyword: string;
  instancePath: string;
  schemaPath: string;
  params: Record<string, unknown>;
}

const EXPECTED_TYPE: Record<string, string> = {
  array: 'expected a list',
  object: 'expected a dictionary',
  string: 'expected str',
  integer: 'expected int',
  number: 'expected float',
  boolean: 'expected bool',
  null: 'expected None',
};

/**
 * Gnocchi validates bodies with voluptuous; clients (and the conformance suite) read its wording:
 * `extra keys not allowed @ data['cowsay']`, `expected a list for dictionary value @
 * data['definition']`, with the path again as `detail`. This turns the schema violations of one
 * request into that description. Extra keys are reported first, as voluptuous walks the input's
 * keys before it looks for missing ones; alternatives (`anyOf`) are reported as a whole.
 */
export function voluptuousDescription(violations: readonly SchemaViolation[]): InvalidInputDescription {
  const relevant = violations.filter((v) => !v.schemaPath.includes('/anyOf/'));
  const chosen = relevant.find((v) => v.keyword === 'additionalProperties') ?? relevant[0] ?? violations[0];
  if (!chosen) return { cause: 'Invalid input', reason: 'not a valid value', detail: [] };
  const path: (string | number)[] = chosen.instancePath
    .split('/')
    .slice(1)
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
  const { message, keyPath } = describe(chosen);
  if (keyPath !== undefined) path.push(keyPath);
  return voluptuousInvalid(message, path, keyPath === undefined);
}

/** The description voluptuous gives for `message` at `path`. */
export function voluptuousInvalid(
  message: string,
  path: readonly (string | number)[],
  forDictionaryValue = true,
): InvalidInputDescription {
  if (path.length === 0) return { cause: 'Invalid input', reason: message, detail: [] };
  const where = path.map((p) => (typeof p === 'number' ? `[${p}]` : `['${p}']`)).join('');
  const reason = `${message}${forDictionaryValue ? ' for dictionary value' : ''} @ data${where}`;
  return { cause: 'Invalid input', reason, detail: path.map(String) };
}

/** A 400 carrying voluptuous's description of `message` at `path`. */
export function invalidInputError(
  message: string,
  path: readonly (string | number)[],
  forDictionaryValue = true,
) {
  return describedRestError('REST_INVALID_INPUT', voluptuousInvalid(message, path, forDictionaryValue));
}

function describe(v: SchemaViolation): { message: string; keyPath?: string } {
  const limit = v.params.limit;
  switch (v.keyword) {
    case 'additionalProperties':
      return { message: 'extra keys not allowed', keyPath: String(v.params.additionalProperty) };
    case 'required':
      return { message: 'required key not provided', keyPath: String(v.params.missingProperty) };
    case 'type': {
      const type = String(v.params.type).split(',')[0] ?? '';
      return { message: EXPECTED_TYPE[type] ?? 'not a valid value' };
    }
    case 'minItems':
    case 'minLength':
    case 'minProperties':
      return { message: `length of value must be at least ${limit}` };
    case 'maxItems':
    case 'maxLength':
    case 'maxProperties':
      return { message: `length of value must be at most ${limit}` };
    case 'minimum':
      return { message: `value must be at least ${limit}` };
    case 'maximum':
      return { message: `value must be at most ${limit}` };
    default:
      return { message: 'not a valid value' };
  }
}

/** Gnocchi's refusal of a query argument: `{cause: "Argument value error", reason, detail: <name>}`. */
export function argumentError(name: string, reason: string) {
  return describedRestError('REST_INVALID_INPUT', { cause: 'Argument value error', reason, detail: name });
}
