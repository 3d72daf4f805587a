import { parseIsoTimestamp } from '@granary/carbonara';
import type { MeterSample } from '@granary/pipeline';
import { type PyDict, PyFloat, type PyValue, parsePythonJson, toPlain } from '@granary/python-format';
import type { CounterType, Sample } from '@granary/schema';
import { assertBoundedDepth, verifySample, verifySignature } from '@granary/telemetry';
import { publisherErrors } from './errors.ts';

const COUNTER_TYPES: readonly string[] = ['gauge', 'delta', 'cumulative'];

/**
 * The signature check of a sample: with a secret, an unsigned sample and a forged one are
 * refused (each with its own code, so the dead letters and the metrics tell them apart).
 */
function checkSignature(signature: unknown, verified: () => boolean, secret: string, id: string): void {
  if (!secret) return;
  if (typeof signature !== 'string' || signature === '')
    throw publisherErrors('PUBLISHER_UNSIGNED_SAMPLE', `sample ${id}`);
  if (!verified()) throw publisherErrors('PUBLISHER_FORGED_SAMPLE', `sample ${id}`);
}

function parseMetadata(text: string, id: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw publisherErrors('PUBLISHER_INVALID_SAMPLE', `sample ${id}: resource_metadata is not JSON`, {
      cause,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw publisherErrors('PUBLISHER_INVALID_SAMPLE', `sample ${id}: resource_metadata is not a JSON object`);
  assertBoundedDepth(parsed, `sample ${id}: resource_metadata`);
  return parsed as Record<string, unknown>;
}

/** An Avro sample of `granary.samples`, checked (signature, volume) and ready for the pipeline. */
export function admitSample(sample: Sample, secret: string): MeterSample {
  const id = sample.message_id;
  if (Number.isNaN(sample.counter_volume))
    throw publisherErrors('PUBLISHER_INVALID_VOLUME', `sample ${id}: NaN`);
  // Metadata first: the signature check reads it too, and its problem is the sample's, not the signature's.
  const metadata = parseMetadata(sample.resource_metadata, id);
  checkSignature(sample.message_signature, () => verifySample(sample, secret), secret, id);
  const { message_signature: _signature, resource_metadata: _text, ...fields } = sample;
  return { ...fields, resource_metadata: metadata };
}

/**
 * The meter dicts of one oslo.messaging notification record as the Kafka driver writes it:
 * `{"oslo.version": "2.0", "oslo.message": "<json>"}` (a bare 1.0 message is accepted too), whose
 * payload is `{"samples": [...]}` (polling agent, `telemetry.polling`) or the list itself
 * (notifier publisher, `metering`).
 */
export function decodeOsloNotification(value: Buffer | null): PyDict[] {
  const invalid = (problem: string, cause?: unknown) =>
    publisherErrors('PUBLISHER_INVALID_NOTIFICATION', problem, cause === undefined ? undefined : { cause });
  if (value === null) throw invalid('empty record');
  let outer: PyValue;
  try {
    outer = parsePythonJson(value.toString('utf8'));
  } catch (cause) {
    throw invalid('not JSON', cause);
  }
  if (!isDict(outer)) throw invalid('not a JSON object');
  let message: PyValue = outer;
  if ('oslo.message' in outer) {
    const inner = outer['oslo.message'];
    if (typeof inner !== 'string') throw invalid('oslo.message is not a string');
    try {
      message = parsePythonJson(inner);
    } catch (cause) {
      throw invalid('oslo.message is not JSON', cause);
    }
  }
  if (!isDict(message)) throw invalid('the message is not a JSON object');
  const payload = message.payload;
  const samples = isDict(payload) ? payload.samples : payload;
  if (!Array.isArray(samples)) throw invalid(`no samples in the payload of ${String(message.event_type)}`);
  return samples.map((sample, i) => {
    if (!isDict(sample)) throw invalid(`sample #${i + 1} is not an object`);
    return sample;
  });
}

/** A meter dict (`meter_message_from_counter`) checked and ready for the pipeline. */
export function admitMeterDict(meter: PyDict, secret: string): MeterSample {
  const id = typeof meter.message_id === 'string' ? meter.message_id : '(no message_id)';
  const invalid = (problem: string) =>
    publisherErrors('PUBLISHER_INVALID_SAMPLE', `sample ${id}: ${problem}`);
  const text = (field: string, required: boolean): string | null => {
    const value = meter[field];
    if (typeof value === 'string') return value;
    if (!required && (value === null || value === undefined)) return null;
    throw invalid(`${field} must be a string`);
  };
  const volume = pythonFloat(meter.counter_volume);
  if (volume === undefined) throw publisherErrors('PUBLISHER_INVALID_VOLUME', `sample ${id}`);
  // Before the signature check and toPlain, which recurse.
  assertBoundedDepth(meter.resource_metadata, `sample ${id}: resource_metadata`);
  checkSignature(meter.message_signature, () => verifySignature(meter, secret), secret, id);
  const type = text('counter_type', true)!;
  if (!COUNTER_TYPES.includes(type)) throw invalid(`counter_type ${type} is not gauge, delta or cumulative`);
  // Ceilometer writes `utcnow().isoformat()` (naive, read as UTC) or oslo's `str(utcnow())` with a space.
  const timestamp = parseIsoTimestamp(text('timestamp', true)!);
  if (timestamp === undefined) throw invalid(`timestamp ${String(meter.timestamp)} is not ISO 8601`);
  const metadata = meter.resource_metadata ?? {};
  if (!isDict(metadata)) throw invalid('resource_metadata must be an object');
  const monotonic = meter.monotonic_time ?? null;
  const monotonicTime = monotonic === null ? null : pythonFloat(monotonic);
  if (monotonicTime === undefined) throw invalid('monotonic_time must be a number');
  return {
    counter_name: text('counter_name', true)!,
    counter_type: type as CounterType,
    counter_unit: text('counter_unit', true)!,
    counter_volume: volume,
    user_id: text('user_id', false),
    project_id: text('project_id', false),
    user_name: text('user_name', false),
    project_name: text('project_name', false),
    resource_id: text('resource_id', true)!,
    timestamp,
    resource_metadata: toPlain(metadata) as Record<string, unknown>,
    source: text('source', false) ?? 'openstack',
    message_id: id,
    monotonic_time: monotonicTime,
  };
}

/** Python's `float(value)` for what a volume may be: a number, or text of a number; NaN refused. */
function pythonFloat(value: PyValue | undefined): number | undefined {
  const number =
    value instanceof PyFloat
      ? value.value
      : typeof value === 'number'
        ? value
        : typeof value === 'string' && value.trim() !== ''
          ? Number(value.trim())
          : Number.NaN;
  return Number.isNaN(number) ? undefined : number;
}

function isDict(value: PyValue | undefined): value is PyDict {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof PyFloat);
}
