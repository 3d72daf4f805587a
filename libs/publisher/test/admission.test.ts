import { parseIsoTimestamp } from '@granary/carbonara';
import { PyFloat, parsePythonJson } from '@granary/python-format';
import type { Sample } from '@granary/schema';
import { computeSignature, signSample } from '@granary/telemetry';
import { describe, expect, it } from 'vitest';
import { admitMeterDict, admitSample, decodeOsloNotification, publisherErrors } from '../index.ts';

const SECRET = 'change this for valid signing';

const unsigned: Omit<Sample, 'message_signature'> = {
  counter_name: 'hardware.memory.used',
  counter_type: 'gauge',
  counter_unit: 'KB',
  counter_volume: 1024,
  user_id: null,
  project_id: null,
  user_name: null,
  project_name: null,
  resource_id: 'node-1',
  timestamp: 1_700_000_000_123_456,
  resource_metadata: '{"resource_url": "node-1"}',
  source: 'hardware',
  message_id: 'm-1',
  monotonic_time: 12.5,
};

const codeOf = (run: () => unknown): string | undefined => {
  try {
    run();
  } catch (error) {
    return publisherErrors.is(error) ? error.code : `uncoded: ${(error as Error).message}`;
  }
  return undefined;
};

describe('Avro samples', () => {
  it('admits a signed sample with its metadata parsed', () => {
    const admitted = admitSample(signSample(unsigned, SECRET), SECRET);
    expect(admitted.resource_metadata).toEqual({ resource_url: 'node-1' });
    expect(admitted.counter_volume).toBe(1024);
    expect('message_signature' in admitted).toBe(false);
  });

  it('refuses unsigned and forged samples when a secret is set, and accepts anything without one', () => {
    const signed = signSample(unsigned, SECRET);
    expect(codeOf(() => admitSample({ ...signed, message_signature: '' }, SECRET))).toBe(
      'PUBLISHER_UNSIGNED_SAMPLE',
    );
    expect(codeOf(() => admitSample({ ...signed, counter_volume: 1025 }, SECRET))).toBe(
      'PUBLISHER_FORGED_SAMPLE',
    );
    expect(codeOf(() => admitSample(signSample(unsigned, 'other secret'), SECRET))).toBe(
      'PUBLISHER_FORGED_SAMPLE',
    );
    expect(
      codeOf(() => admitSample({ ...signed, message_signature: 'x', counter_volume: 3 }, '')),
    ).toBeUndefined();
  });

  it('refuses a NaN volume and metadata that is not a JSON object', () => {
    expect(
      codeOf(() => admitSample(signSample({ ...unsigned, counter_volume: Number.NaN }, SECRET), SECRET)),
    ).toBe('PUBLISHER_INVALID_VOLUME');
    for (const secret of ['', SECRET]) {
      const sample = { ...unsigned, resource_metadata: '[1]', message_signature: 'f00' };
      expect(codeOf(() => admitSample(sample, secret))).toBe('PUBLISHER_INVALID_SAMPLE');
    }
  });
});

describe('JSON read as Python reads it', () => {
  it("keeps floats apart from ints, so Ceilometer's signature test vector verifies", () => {
    const message = parsePythonJson('{"a": 1.0, "b": true, "c": [{"x": "y"}]}');
    expect(message).toEqual({ a: new PyFloat(1), b: true, c: [{ x: 'y' }] });
    expect(computeSignature(message as never, 'secret')).toBe(
      '471d7f23e27923fef5b24c3ef7bca8ef483cf989aa10287a0392e2550a144fd1',
    );
    expect(
      computeSignature(parsePythonJson('{"a": 1, "b": true, "c": [{"x": "y"}]}') as never, 'secret'),
    ).not.toBe('471d7f23e27923fef5b24c3ef7bca8ef483cf989aa10287a0392e2550a144fd1');
  });
});

/** A meter dict signed as Ceilometer's `meter_message_from_counter`, then the Kafka record text. */
function osloRecord(meters: string[], payload: 'polling' | 'notifier' = 'polling'): Buffer {
  const list = `[${meters.join(', ')}]`;
  const message = {
    message_id: 'a0c3',
    publisher_id: 'ceilometer.polling',
    event_type: payload === 'polling' ? 'telemetry.polling' : 'metering',
    priority: 'SAMPLE',
    timestamp: '2026-01-01 12:00:00.123456',
    _context: {},
  };
  const inner = JSON.stringify(message).replace(
    /}$/,
    `, "payload": ${payload === 'polling' ? `{"samples": ${list}}` : list}}`,
  );
  return Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': inner }));
}

function signedMeterText(volume: string, overrides = ''): string {
  const body = `"source": "openstack", "counter_name": "cpu", "counter_type": "cumulative", "counter_unit": "ns", "counter_volume": ${volume}, "user_id": "u", "user_name": null, "project_id": "p", "project_name": null, "resource_id": "vm-1", "timestamp": "2026-01-01T12:00:00.123456", "resource_metadata": {"cpu_number": 2, "flavor": {"name": "m1"}, "tags": ["a"]}, "message_id": "s-1", "monotonic_time": 42.0, "publisher_id": "ceilometer.polling"${overrides}`;
  const signature = computeSignature(parsePythonJson(`{${body}}`) as never, SECRET);
  return `{${body}, "message_signature": "${signature}"}`;
}

describe('oslo.messaging notifications (Ceilometer on Kafka)', () => {
  it("decodes the polling agent's envelope and admits its signed meters", () => {
    const [meter] = decodeOsloNotification(osloRecord([signedMeterText('12345.0')]));
    const admitted = admitMeterDict(meter!, SECRET);
    expect(admitted).toEqual({
      counter_name: 'cpu',
      counter_type: 'cumulative',
      counter_unit: 'ns',
      counter_volume: 12345,
      user_id: 'u',
      project_id: 'p',
      user_name: null,
      project_name: null,
      resource_id: 'vm-1',
      timestamp: Date.UTC(2026, 0, 1, 12) * 1000 + 123_456,
      resource_metadata: { cpu_number: 2, flavor: { name: 'm1' }, tags: ['a'] },
      source: 'openstack',
      message_id: 's-1',
      monotonic_time: 42,
    });
  });

  it("decodes the notifier publisher's list payload and a bare 1.0 message", () => {
    expect(
      decodeOsloNotification(osloRecord([signedMeterText('1'), signedMeterText('2')], 'notifier')),
    ).toHaveLength(2);
    const bare = Buffer.from(`{"event_type": "metering", "payload": [${signedMeterText('3')}]}`);
    expect(decodeOsloNotification(bare)).toHaveLength(1);
  });

  it('refuses what is not a sample notification', () => {
    for (const text of [
      'nope',
      '[]',
      '{"oslo.version": "2.0", "oslo.message": 5}',
      '{"oslo.message": "{}"}',
      '{"payload": [1]}',
    ]) {
      expect(
        codeOf(() => decodeOsloNotification(Buffer.from(text))),
        text,
      ).toBe('PUBLISHER_INVALID_NOTIFICATION');
    }
    expect(codeOf(() => decodeOsloNotification(null))).toBe('PUBLISHER_INVALID_NOTIFICATION');
  });

  it('tells forged, unsigned, volume-less and malformed meters apart', () => {
    const admit =
      (text: string, secret = SECRET) =>
      () =>
        admitMeterDict(decodeOsloNotification(osloRecord([text]))[0]!, secret);
    // Same digits, int instead of float: Python would have hashed "12345", not "12345.0".
    const forged = signedMeterText('12345.0').replace('"counter_volume": 12345.0', '"counter_volume": 12345');
    expect(codeOf(admit(forged))).toBe('PUBLISHER_FORGED_SAMPLE');
    expect(codeOf(admit(signedMeterText('1').replace(/, "message_signature": "[0-9a-f]+"/, '')))).toBe(
      'PUBLISHER_UNSIGNED_SAMPLE',
    );
    for (const volume of ['null', '"many"', 'NaN', '""']) {
      expect(codeOf(admit(signedMeterText(volume))), volume).toBe('PUBLISHER_INVALID_VOLUME');
    }
    expect(codeOf(admit(signedMeterText('"7.5"'), ''))).toBeUndefined();
    expect(
      codeOf(
        admit(
          signedMeterText('1', ', "counter_type": "rate"').replace('"counter_type": "cumulative", ', ''),
          '',
        ),
      ),
    ).toBe('PUBLISHER_INVALID_SAMPLE');
    expect(codeOf(admit(signedMeterText('1').replace('2026-01-01T12', 'yesterday'), ''))).toBe(
      'PUBLISHER_INVALID_SAMPLE',
    );
  });
});

describe('Ceilometer timestamps', () => {
  const noon = Date.UTC(2026, 0, 1, 12) * 1000;
  it.each([
    ['2026-01-01T12:00:00', noon],
    ['2026-01-01T12:00:00.5', noon + 500_000],
    ['2026-01-01 12:00:00.123456', noon + 123_456],
    ['2026-01-01T12:00:00.123456+00:00', noon + 123_456],
    ['2026-01-01T13:30:00+01:30', noon],
    ['2026-01-01T12:00:00Z', noon],
    ['2026-02-30T12:00:00', undefined],
    ['12:00', undefined],
  ])('%s', (text, expected) => {
    expect(parseIsoTimestamp(text)).toBe(expected);
  });
});
