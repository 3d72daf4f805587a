import { assertBoundedDepth } from '@granary/telemetry';
import { notificationMeterErrors } from './errors.ts';

/**
 * A notification as Ceilometer's endpoints see it (what oslo.messaging's notification dispatcher
 * hands them): the definitions' paths are evaluated over exactly these keys.
 */
export interface Notification {
  ctxt: Record<string, unknown>;
  publisher_id: unknown;
  event_type: string;
  payload: unknown;
  metadata: { message_id: unknown; timestamp: unknown };
  /** Lower-case oslo priority (`info`, `sample`, `error`, …). */
  priority: string;
}

const MAX_EVENT_TYPE_LENGTH = 255;

const isDict = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * One record of the oslo.messaging Kafka driver: `{"oslo.version": "2.0", "oslo.message": "<json>"}`
 * (a bare message is accepted too). The context travels as `context` (the Kafka driver),
 * `_context` or `_context_<key>` fields (the AMQP drivers' serialisation).
 */
export function decodeNotification(value: Buffer | null): Notification {
  const invalid = (problem: string, cause?: unknown) =>
    notificationMeterErrors(
      'NOTIFICATION_METERS_NOT_A_NOTIFICATION',
      problem,
      cause === undefined ? undefined : { cause },
    );
  if (value === null) throw invalid('empty record');
  let outer: unknown;
  try {
    // JSON.parse makes "__proto__" an own property, never the prototype.
    outer = JSON.parse(value.toString('utf8'));
  } catch (cause) {
    throw invalid('not JSON', cause);
  }
  if (!isDict(outer)) throw invalid('not a JSON object');
  let message: unknown = outer;
  if (Object.hasOwn(outer, 'oslo.message')) {
    const inner = outer['oslo.message'];
    if (typeof inner !== 'string') throw invalid('oslo.message is not a string');
    try {
      message = JSON.parse(inner);
    } catch (cause) {
      throw invalid('oslo.message is not JSON', cause);
    }
  }
  if (!isDict(message)) throw invalid('the message is not a JSON object');
  assertBoundedDepth(message, 'notification');
  const eventType = message.event_type;
  if (typeof eventType !== 'string' || eventType === '') throw invalid('no event_type');
  // Event types are short dotted names; a bound keeps the definitions' regexes cheap on any input.
  if (eventType.length > MAX_EVENT_TYPE_LENGTH)
    throw invalid(`event_type longer than ${MAX_EVENT_TYPE_LENGTH} characters`);
  if (!Object.hasOwn(message, 'payload')) throw invalid(`${eventType}: no payload`);
  const priority = message.priority ?? 'info';
  if (typeof priority !== 'string') throw invalid(`${eventType}: priority is not a string`);
  const ctxt: Record<string, unknown> = Object.create(null);
  for (const source of [message.context, message._context])
    if (isDict(source)) for (const [key, field] of Object.entries(source)) ctxt[key] = field;
  for (const [key, field] of Object.entries(message))
    if (key.startsWith('_context_')) ctxt[key.slice('_context_'.length)] = field;
  return {
    ctxt,
    publisher_id: message.publisher_id ?? null,
    event_type: eventType,
    payload: message.payload,
    metadata: { message_id: message.message_id ?? null, timestamp: message.timestamp ?? null },
    priority: priority.toLowerCase(),
  };
}
