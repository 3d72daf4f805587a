import { STATUS_CODES } from 'node:http';
import { GranaryError, defineErrors } from '@granary/errors';

/**
 * The REST layer's own closed list: HTTP-level refusals that happen before any lib is called.
 * `details.description` carries Gnocchi's description when it is not the plain message.
 */
export const restError = defineErrors({
  REST_UNAUTHENTICATED: { message: 'Authentication required', status: 401, retriable: false },
  REST_FORBIDDEN: { message: 'Access was denied to this resource.', status: 403, retriable: false },
  REST_NOT_FOUND: { message: 'The resource could not be found.', status: 404, retriable: false },
  REST_METHOD_NOT_ALLOWED: {
    message: 'The method is not allowed for this resource.',
    status: 405,
    retriable: false,
  },
  REST_NOT_ACCEPTABLE: {
    message: '406 Not Acceptable: only application/json is served',
    status: 406,
    retriable: false,
  },
  REST_PRECONDITION_FAILED: { message: 'Precondition Failed', status: 412, retriable: false },
  REST_BODY_TOO_LARGE: { message: 'Request Entity Too Large', status: 413, retriable: false },
  REST_UNSUPPORTED_MEDIA_TYPE: { message: 'Unsupported Media Type', status: 415, retriable: false },
  REST_INVALID_INPUT: { message: 'Invalid input', status: 400, retriable: false },
  /** A request Gnocchi refuses as not implemented (an InfluxDB query other than CREATE DATABASE). */
  REST_NOT_IMPLEMENTED: { message: 'Not Implemented', status: 501, retriable: false },
  REST_UNAVAILABLE: { message: 'Service Unavailable', status: 503, retriable: true },
  /** The auth section names a mode without what it needs (users file, Keystone service user). */
  REST_AUTH_CONFIG: { message: 'Invalid authentication configuration', status: 500, retriable: false },
});

export type RestErrorCode = (typeof restError.codes)[number];

/** Gnocchi's structured description of rejected input (voluptuous style). */
export interface InvalidInputDescription {
  cause: string;
  reason: string;
  /** The path as text for schema errors; whatever identifies the culprits otherwise (ids, pairs, …). */
  detail: unknown;
}

/** Gnocchi's error body, keys in its order: `{code, title, description}` (pecan's JSON error of a webob HTTP error). */
export interface GnocchiErrorBody {
  code: number;
  title: string;
  description: string | InvalidInputDescription;
}

/** A coded REST error with an explicit Gnocchi description (text or voluptuous object). */
export function describedRestError(
  code: RestErrorCode,
  description: string | InvalidInputDescription,
): GranaryError<RestErrorCode> {
  const text = typeof description === 'string' ? description : description.reason;
  return restError(code, text, { details: { description } });
}

/** Gnocchi's description of a body that is not JSON (or missing where one is required). */
export const undecodableBody = (reason: string) =>
  describedRestError('REST_INVALID_INPUT', { cause: 'Unable to decode body', reason, detail: [] });

/**
 * Any coded error from any lib becomes Gnocchi's body with the status its code carries; the
 * description is `details.description` when the lib supplied Gnocchi's exact text (a 501 too: it
 * describes the request, not a failure). Anything else is a 500 whose text does not leak internals
 * (the caller logs the real error once).
 */
export function toGnocchiError(err: unknown): GnocchiErrorBody {
  if (err instanceof GranaryError && (err.status < 500 || err.code === 'REST_NOT_IMPLEMENTED')) {
    const description =
      (err.details?.description as GnocchiErrorBody['description'] | undefined) ?? err.message;
    return body(err.status, description);
  }
  if (err instanceof GranaryError) return body(err.status, STATUS_CODES[err.status] ?? 'Server Error');
  // Refusals of the HTTP framework itself (malformed headers, aborted bodies) keep their 4xx.
  const statusCode = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return body(statusCode, (err as Error).message);
  }
  return body(500, 'Internal Server Error');
}

function body(status: number, description: GnocchiErrorBody['description']): GnocchiErrorBody {
  return { code: status, title: STATUS_CODES[status] ?? 'Error', description };
}
