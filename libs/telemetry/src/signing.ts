import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  type PyDict,
  PyFloat,
  type PyValue,
  compareCodePoints,
  pyReprDecoded,
  pyStr,
} from '@granary/python-format';
import { MAX_METADATA_DEPTH, assertBoundedDepth } from './depth.ts';

/**
 * Ceilometer's `utils.recursive_keypairs`: keys in sorted order, nested dicts flattened to
 * `a:b:c` (an empty dict yields nothing), lists and tuples passed through `decode_unicode`.
 */
export function recursiveKeypairs(message: PyDict, separator = ':'): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const name of Object.keys(message).sort(compareCodePoints)) {
    const value = message[name]!;
    if (isDict(value)) {
      for (const [subname, text] of recursiveKeypairs(value, separator)) {
        pairs.push([`${name}${separator}${subname}`, text]);
      }
    } else {
      pairs.push([name, Array.isArray(value) ? pyReprDecoded(value) : pyStr(value)]);
    }
  }
  return pairs;
}

/**
 * Ceilometer's `publisher.utils.compute_signature`: HMAC-SHA256 over `str(key)` then `str(value)`
 * of every key pair, without separators, skipping the top-level `message_signature`. An empty
 * secret disables signing and gives ''.
 */
export function computeSignature(message: PyDict, secret: string): string {
  if (!secret) return '';
  // recursiveKeypairs recurses: a hostile metadata must be refused before it overflows the stack.
  assertBoundedDepth(message, 'the signed message', MAX_METADATA_DEPTH + 1);
  const digest = createHmac('sha256', Buffer.from(secret, 'utf8'));
  for (const [name, text] of recursiveKeypairs(message)) {
    if (name === 'message_signature') continue;
    digest.update(Buffer.from(name, 'utf8'));
    digest.update(Buffer.from(text, 'utf8'));
  }
  return digest.digest('hex');
}

/** Ceilometer's `verify_signature`: constant-time comparison; every message passes an empty secret. */
export function verifySignature(message: PyDict, secret: string): boolean {
  if (!secret) return true;
  const claimed = message.message_signature;
  // Ceilometer refuses a signature that is not ASCII rather than comparing it.
  if (typeof claimed !== 'string' || [...claimed].some((char) => char.charCodeAt(0) > 0x7f)) return false;
  const expected = Buffer.from(computeSignature(message, secret), 'ascii');
  const given = Buffer.from(claimed, 'ascii');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function isDict(value: PyValue): value is PyDict {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof PyFloat);
}
