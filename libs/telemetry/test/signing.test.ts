import { PyFloat } from '@granary/python-format';
import { describe, expect, it } from 'vitest';
import {
  computeSignature,
  meterMessage,
  recursiveKeypairs,
  signSample,
  toCeilometerTimestamp,
  verifySample,
  verifySignature,
} from '../index.ts';
import type { UnsignedSample } from '../index.ts';

// Expected digests were computed by CPython 3 running Ceilometer's compute_signature,
// recursive_keypairs and decode_unicode (publisher/utils.py, utils.py) on the same dicts.
describe('computeSignature', () => {
  it('matches the Ceilometer test vector', () => {
    const message = { a: new PyFloat(1), b: true, c: [{ x: 'y' }] };
    expect(computeSignature(message, 'secret')).toBe(
      '471d7f23e27923fef5b24c3ef7bca8ef483cf989aa10287a0392e2550a144fd1',
    );
  });

  it('matches Ceilometer on a meter message with nested, empty and list metadata', () => {
    const message = {
      source: 'openstack',
      counter_name: 'hardware.cpu.load.1min',
      counter_type: 'gauge',
      counter_unit: 'process',
      counter_volume: 0.25,
      user_id: null,
      user_name: null,
      project_id: 'p1',
      project_name: null,
      resource_id: 'host-1',
      timestamp: '2026-01-01T12:00:00.123456',
      resource_metadata: {
        resource_url: 'snmp://h',
        tags: ['a', "it's", 'é'],
        nested: { x: 1, empty: {} },
        flag: false,
      },
      message_id: '0d1e',
      monotonic_time: 12.5,
    };
    const secret = 'change this for valid signing';
    expect(computeSignature(message, secret)).toBe(
      '84685d324f4861b6d5186f099c4688e82bc72b2c1c5daa7a4c41311b0fdbc6eb',
    );
    const integralFloat = {
      ...message,
      counter_volume: new PyFloat(3),
      monotonic_time: null,
      resource_metadata: {},
    };
    expect(computeSignature(integralFloat, secret)).toBe(
      'a67f093111678d82b94c1542523cea3a132213666d419ba5ea20644446d232d9',
    );
  });

  it('emulates Python repr inside lists: bytes, quotes, escapes, floats and sorted dict keys', () => {
    const message = {
      a: [1, new PyFloat(2), null, true, new PyFloat(1e16), 1e-5, { z: 'q', b: ['\n', 'a"b\''] }],
      'k\u00e9': 'v\u00e9',
      n: new PyFloat(-0),
    };
    expect(recursiveKeypairs(message)[0]).toEqual([
      'a',
      `[1, 2.0, None, True, 1e+16, 1e-05, {b'b': [b'\\n', b'a"b\\''], b'z': b'q'}]`,
    ]);
    expect(computeSignature(message, 's\u00e9cret')).toBe(
      '290e794ef7d19a4fee94427a8efaf5bcbe5be77e750a704f51cd437703311d45',
    );
  });

  it('signs nothing with an empty secret and skips an existing top-level signature', () => {
    expect(computeSignature({ a: 1 }, '')).toBe('');
    expect(computeSignature({ a: 1, message_signature: 'old' }, 's')).toBe(computeSignature({ a: 1 }, 's'));
    expect(computeSignature({ a: { message_signature: 'x' } }, 's')).not.toBe(
      computeSignature({ a: {} }, 's'),
    );
  });
});

describe('verifySignature', () => {
  it('accepts the right signature and refuses a changed message, a wrong or non-ASCII signature', () => {
    const message = { a: 1, b: 'two' };
    const signed = { ...message, message_signature: computeSignature(message, 'k') };
    expect(verifySignature(signed, 'k')).toBe(true);
    expect(verifySignature({ ...signed, b: 'three' }, 'k')).toBe(false);
    expect(verifySignature({ ...signed, message_signature: 'abc' }, 'k')).toBe(false);
    expect(verifySignature({ ...signed, message_signature: '\u00e9' }, 'k')).toBe(false);
    expect(verifySignature({ ...message, message_signature: 'anything' }, '')).toBe(true);
  });
});

describe('samples', () => {
  const unsigned: UnsignedSample = {
    counter_name: 'hardware.memory.used',
    counter_type: 'gauge',
    counter_unit: 'KB',
    counter_volume: 1024,
    user_id: null,
    project_id: null,
    user_name: null,
    project_name: null,
    resource_id: 'host-1',
    timestamp: Date.UTC(2026, 0, 1, 12, 0, 0) * 1000 + 123_456,
    resource_metadata: '{"resource_url":"snmp://h"}',
    source: 'hardware',
    message_id: 'id-1',
    monotonic_time: 3,
  };

  it('stamps timestamps as naive isoformat, without a fraction when microseconds are zero', () => {
    expect(toCeilometerTimestamp(unsigned.timestamp)).toBe('2026-01-01T12:00:00.123456');
    expect(toCeilometerTimestamp(Date.UTC(2026, 0, 1) * 1000)).toBe('2026-01-01T00:00:00');
    expect(toCeilometerTimestamp(Date.UTC(2026, 0, 1) * 1000 + 7)).toBe('2026-01-01T00:00:00.000007');
  });

  it('signs the meter message as Ceilometer does and verifies it back', () => {
    const message = meterMessage(unsigned);
    expect(message.counter_volume).toEqual(new PyFloat(1024));
    expect(message.resource_metadata).toEqual({ resource_url: 'snmp://h' });
    const signed = signSample(unsigned, 'secret');
    expect(signed.message_signature).toBe(computeSignature(message, 'secret'));
    expect(verifySample(signed, 'secret')).toBe(true);
    expect(verifySample({ ...signed, counter_volume: 1025 }, 'secret')).toBe(false);
    expect(signSample(unsigned, '').message_signature).toBe('');
  });

  it('refuses metadata that is not a JSON object', () => {
    expect(() => signSample({ ...unsigned, resource_metadata: '[1]' }, 's')).toThrow(/not a JSON object/);
    expect(() => signSample({ ...unsigned, resource_metadata: '{' }, 's')).toThrow(/not JSON/);
  });
});
