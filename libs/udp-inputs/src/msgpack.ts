import { type PyDict, PyFloat } from '@granary/python-format';
import { assertBoundedDepth } from '@granary/telemetry';
import { Decoder } from '@msgpack/msgpack';
import { udpInputErrors } from './errors.ts';

/** A datagram is at most 64 KiB: these bound what one can make the decoder allocate. */
const decoder = new Decoder({
  maxStrLength: 65_535,
  maxBinLength: 0,
  maxArrayLength: 16_384,
  maxMapLength: 16_384,
  maxExtLength: 0,
});

/**
 * msgpack keeps Python's int/float distinction (a float is always float 32/64 on the wire), and
 * the signature is computed over `str()` of each value, so `1.0` must stay a float: this decoder's
 * float readers (private in the package's types, plain methods at run time) give PyFloat, as
 * `parsePythonJson` does for JSON.
 */
const floatReaders = decoder as unknown as { readF32(): unknown; readF64(): unknown };
for (const reader of ['readF32', 'readF64'] as const) {
  const read = floatReaders[reader];
  floatReaders[reader] = function (this: unknown) {
    return new PyFloat(read.call(this) as number);
  };
}

const isDict = (value: unknown): value is PyDict =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  !(value instanceof PyFloat) &&
  !(value instanceof Uint8Array);

/**
 * One datagram of Ceilometer's `udp://` publisher: a msgpack map, the meter dict
 * `meter_message_from_counter` made (with its `message_signature`). Keys `__proto__` and
 * binary or extension values are refused.
 */
export function decodeSampleDatagram(datagram: Uint8Array): PyDict {
  let value: unknown;
  try {
    value = decoder.decode(datagram);
  } catch (cause) {
    throw udpInputErrors('UDP_INPUTS_MALFORMED_DATAGRAM', `not msgpack: ${(cause as Error).message}`, {
      cause,
    });
  }
  if (!isDict(value)) throw udpInputErrors('UDP_INPUTS_MALFORMED_DATAGRAM', 'not a msgpack map');
  assertBoundedDepth(value, 'msgpack sample');
  // The decoder makes plain objects; a null prototype keeps every key an own one.
  return Object.assign(Object.create(null), value) as PyDict;
}
