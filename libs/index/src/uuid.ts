import { createHash } from 'node:crypto';

/** Gnocchi's `RESOURCE_ID_NAMESPACE` for turning non-UUID resource ids into UUIDv5. */
const RESOURCE_ID_NAMESPACE = '0a7a15ff-aa13-4ac2-897c-9bdf30ce175b';
// Gnocchi 4.7.1 (utils.ResourceUUID); the original_resource_id column allows as many.
const MAX_TRANSFORMABLE_ID_LENGTH = 289;

/**
 * Python's `uuid.UUID(text)`: hex digits with or without hyphens, optional braces and `urn:uuid:`
 * prefix, any case. Returns the canonical lowercase form, or undefined.
 */
export function parseUuid(text: string): string | undefined {
  const hex = text
    .replace(/^urn:uuid:/i, '')
    .replace(/^\{|\}$/g, '')
    .replaceAll('-', '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return undefined;
  const h = hex.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** RFC 4122 version 5 (SHA-1) UUID of `name` in `namespace`. */
export function uuid5(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replaceAll('-', ''), 'hex');
  const digest = createHash('sha1').update(ns).update(name, 'utf8').digest();
  digest[6] = (digest[6]! & 0x0f) | 0x50;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  return parseUuid(digest.subarray(0, 16).toString('hex'))!;
}

/** Why a resource id cannot be used (Gnocchi's `ResourceUUID` messages). */
export type ResourceIdProblem =
  | "'/' is not supported in resource id"
  | 'transformable resource id >289 max allowed characters';

/**
 * Gnocchi's `ResourceUUID(value, creator)`: a UUID is kept; anything else becomes
 * uuid5(namespace, value + "\0" + creator), where a missing creator counts as "\0".
 */
export function resourceUuid(rawId: string, creator: string | null | undefined): string | ResourceIdProblem {
  if (rawId.includes('/')) return "'/' is not supported in resource id";
  const parsed = parseUuid(rawId);
  if (parsed) return parsed;
  if ([...rawId].length > MAX_TRANSFORMABLE_ID_LENGTH)
    return 'transformable resource id >289 max allowed characters';
  return uuid5(RESOURCE_ID_NAMESPACE, `${rawId}\0${creator ?? '\0'}`);
}

export function isResourceIdProblem(value: string): value is ResourceIdProblem {
  return !parseUuid(value);
}
