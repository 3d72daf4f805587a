import { type GranaryError, defineErrors, isTransientNetworkError } from '@granary/errors';

/**
 * The index's closed list of errors. Statuses are those Gnocchi's API answers with, so the API can
 * map `code → status` directly; `details.description` carries Gnocchi's exact error description (a
 * string, or `{cause, reason, detail}` for input validation) for the response body.
 */
export const indexError = defineErrors({
  INDEX_NO_SUCH_ARCHIVE_POLICY: { message: 'Archive policy not found', status: 404, retriable: false },
  INDEX_UNKNOWN_ARCHIVE_POLICY: {
    message: 'Referenced archive policy does not exist',
    status: 400,
    retriable: false,
  },
  INDEX_ARCHIVE_POLICY_ALREADY_EXISTS: {
    message: 'Archive policy already exists',
    status: 409,
    retriable: false,
  },
  INDEX_ARCHIVE_POLICY_IN_USE: { message: 'Archive policy in use', status: 400, retriable: false },
  INDEX_INVALID_ARCHIVE_POLICY: { message: 'Invalid archive policy', status: 400, retriable: false },
  INDEX_UNSUPPORTED_ARCHIVE_POLICY_CHANGE: {
    message: 'Unsupported archive policy change',
    status: 400,
    retriable: false,
  },
  INDEX_NO_SUCH_ARCHIVE_POLICY_RULE: {
    message: 'Archive policy rule not found',
    status: 404,
    retriable: false,
  },
  INDEX_ARCHIVE_POLICY_RULE_ALREADY_EXISTS: {
    message: 'Archive policy rule already exists',
    status: 409,
    retriable: false,
  },
  INDEX_INVALID_ARCHIVE_POLICY_RULE: {
    message: 'Invalid archive policy rule',
    status: 400,
    retriable: false,
  },
  INDEX_NO_ARCHIVE_POLICY_RULE_MATCH: {
    message: 'No archive policy for metric',
    status: 400,
    retriable: false,
  },
  INDEX_NO_SUCH_RESOURCE_TYPE: { message: 'Resource type not found', status: 404, retriable: false },
  INDEX_RESOURCE_TYPE_ALREADY_EXISTS: {
    message: 'Resource type already exists',
    status: 409,
    retriable: false,
  },
  INDEX_RESOURCE_TYPE_IN_USE: { message: 'Resource type in use', status: 400, retriable: false },
  INDEX_INVALID_RESOURCE_TYPE: { message: 'Invalid resource type', status: 400, retriable: false },
  INDEX_NO_SUCH_RESOURCE: { message: 'Resource not found', status: 404, retriable: false },
  INDEX_RESOURCE_ALREADY_EXISTS: { message: 'Resource already exists', status: 409, retriable: false },
  INDEX_INVALID_RESOURCE: { message: 'Invalid resource', status: 400, retriable: false },
  INDEX_NO_SUCH_METRIC: { message: 'Metric not found', status: 404, retriable: false },
  INDEX_UNKNOWN_METRIC: { message: 'Referenced metric does not exist', status: 400, retriable: false },
  INDEX_METRIC_ALREADY_EXISTS: { message: 'Metric already exists', status: 409, retriable: false },
  INDEX_NAMED_METRIC_ALREADY_EXISTS: {
    message: 'Named metric already exists',
    status: 409,
    retriable: false,
  },
  INDEX_INVALID_METRIC: { message: 'Invalid metric', status: 400, retriable: false },
  INDEX_INVALID_FILTER: { message: 'Invalid filter', status: 400, retriable: false },
  INDEX_INVALID_PAGINATION: { message: 'Invalid pagination', status: 400, retriable: false },
  INDEX_UNAVAILABLE: { message: 'Index database unavailable', status: 503, retriable: true },
  INDEX_INTERNAL: { message: 'Index database error', status: 500, retriable: false },
});

export type IndexErrorCode = (typeof indexError.codes)[number];
export type IndexError = GranaryError<IndexErrorCode>;

/**
 * Gnocchi's structured error descriptions: voluptuous rejections (`reason` + `detail` path) and
 * the few `{cause, detail}` ones such as a rule naming an unknown policy.
 */
export type StructuredDescription =
  | { cause: string; reason: string; detail: string[] }
  | { cause: string; detail: string };

/** An error whose `details.description` is the text (or object) Gnocchi's API puts in the body. */
export function described(
  code: IndexErrorCode,
  description: string | StructuredDescription,
  extra: Record<string, unknown> = {},
  cause?: unknown,
): IndexError {
  const text =
    typeof description === 'string'
      ? description
      : `${description.cause}: ${'reason' in description ? description.reason : description.detail}`;
  return indexError(code, text, { details: { ...extra, description }, cause });
}

/**
 * A voluptuous-style rejection: the reason reads `<message> for dictionary value @ data['a'][0]`
 * (`forDictionaryValue` false drops the middle part, as voluptuous does for key errors) and the
 * detail lists the path as text.
 */
export function invalidInput(
  code: IndexErrorCode,
  message: string,
  path: (string | number)[],
  forDictionaryValue = true,
): IndexError {
  if (path.length === 0) return described(code, { cause: 'Invalid input', reason: message, detail: [] });
  const where = path.map((p) => (typeof p === 'number' ? `[${p}]` : `['${p}']`)).join('');
  const reason = `${message}${forDictionaryValue ? ' for dictionary value' : ''} @ data${where}`;
  return described(code, { cause: 'Invalid input', reason, detail: path.map(String) });
}

const RETRIABLE_SQLSTATE_CLASSES = ['08', '53', '57'];

interface PgErrorShape {
  code?: string;
  constraint?: string;
  message?: string;
}

/**
 * The one place pg failures become index errors. Constraint violations (unique, foreign key,
 * check) are translated by callers
 * that know which constraint means what (`onConstraint`); everything else is either a retriable
 * outage (connection, resources, shutdown, serialization) or an internal error.
 */
export function fromPgError(
  err: unknown,
  onConstraint?: (constraint: string, sqlState: string) => IndexError | undefined,
): unknown {
  if (indexError.is(err)) return err;
  const pg = (typeof err === 'object' && err !== null ? err : {}) as PgErrorShape;
  const sqlState = pg.code ?? '';
  if (['23505', '23503', '23514'].includes(sqlState) && pg.constraint && onConstraint) {
    const mapped = onConstraint(pg.constraint, sqlState);
    if (mapped) return mapped;
  }
  if (
    isTransientNetworkError(err) ||
    RETRIABLE_SQLSTATE_CLASSES.includes(sqlState.slice(0, 2)) ||
    sqlState === '40001' ||
    sqlState === '40P01' ||
    /Connection terminated|timeout exceeded when trying to connect/i.test(pg.message ?? '')
  ) {
    return indexError('INDEX_UNAVAILABLE', pg.message, { cause: err });
  }
  return indexError('INDEX_INTERNAL', pg.message ?? String(err), { cause: err });
}
