import { type PyDict, PyFloat, type PyValue } from '@granary/python-format';
import type { Sample } from '@granary/schema';
import { assertBoundedDepth } from './depth.ts';
import { telemetryErrors } from './errors.ts';
import { computeSignature, verifySignature } from './signing.ts';

/** A sample before signing: every field of the Avro `Sample` but the signature. */
export type UnsignedSample = Omit<Sample, 'message_signature'>;

/**
 * Python's `datetime.isoformat()` of a naive UTC time, as Ceilometer stamps polled samples
 * (`utcnow().isoformat()`): no offset, and no fraction when the microseconds are zero.
 */
export function toCeilometerTimestamp(epochMicros: number): string {
  const millis = Math.floor(epochMicros / 1000);
  const micros = epochMicros - millis * 1000;
  const base = new Date(millis).toISOString().slice(0, 19);
  const fraction = (millis % 1000) * 1000 + micros;
  return fraction === 0 ? base : `${base}.${String(fraction).padStart(6, '0')}`;
}

/**
 * The dict `meter_message_from_counter` builds, which is what Ceilometer signs. The volume and the
 * monotonic time are Python floats (the Avro fields are doubles, so a verifier sees floats too);
 * the metadata is the JSON object of `resource_metadata`.
 */
export function meterMessage(sample: Sample | UnsignedSample): PyDict {
  const message: PyDict = {
    source: sample.source,
    counter_name: sample.counter_name,
    counter_type: sample.counter_type,
    counter_unit: sample.counter_unit,
    counter_volume: new PyFloat(sample.counter_volume),
    user_id: sample.user_id,
    user_name: sample.user_name,
    project_id: sample.project_id,
    project_name: sample.project_name,
    resource_id: sample.resource_id,
    timestamp: toCeilometerTimestamp(sample.timestamp),
    resource_metadata: parseMetadata(sample.resource_metadata),
    message_id: sample.message_id,
    monotonic_time: sample.monotonic_time === null ? null : new PyFloat(sample.monotonic_time),
  };
  if ('message_signature' in sample) message.message_signature = sample.message_signature;
  return message;
}

/** The sample with its Ceilometer `message_signature` ('' when the secret is empty). */
export function signSample(sample: UnsignedSample, secret: string): Sample {
  return { ...sample, message_signature: computeSignature(meterMessage(sample), secret) };
}

/** True when the signature matches the sample's content (always true with an empty secret). */
export function verifySample(sample: Sample, secret: string): boolean {
  return verifySignature(meterMessage(sample), secret);
}

function parseMetadata(text: string): PyDict {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw telemetryErrors('TELEMETRY_INVALID_SAMPLE', 'resource_metadata is not JSON', { cause });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw telemetryErrors('TELEMETRY_INVALID_SAMPLE', 'resource_metadata is not a JSON object');
  }
  assertBoundedDepth(parsed, 'resource_metadata');
  return parsed as { [key: string]: PyValue };
}
