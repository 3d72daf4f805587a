import { randomUUID } from 'node:crypto';
import type { PyDict } from '@granary/python-format';
import {
  type AttributeDefinition,
  type MeterDefinition,
  SAMPLE_ATTRIBUTES,
  attributeDefinition,
  truthy,
} from './definitions.ts';
import { notificationMeterErrors } from './errors.ts';
import type { Notification } from './notification.ts';

/** What became of one notification. */
export type MeteringOutcome =
  /**
   * At least one definition matched; `meters` may still be empty (a lookup found nothing).
   * `withoutVolume` counts the samples left out because their volume path found nothing: the
   * payload lacks the field, and Ceilometer's Gnocchi publisher could not store them either.
   */
  | { kind: 'metered'; meters: PyDict[]; withoutVolume: number; failures: Error[] }
  /** Valid, but nothing here meters it: counted, not an error. */
  | { kind: 'dropped'; reason: 'event_type' | 'priority' };

/** Ceilometer's endpoints handle these priorities; the others (error, warn, …) carry no meters. */
const METERED_PRIORITIES: ReadonlySet<string> = new Set(['info', 'sample']);

/** `metering.`-prefixed user metadata keys (Ceilometer's reserved namespace) and their length cap. */
const RESERVED_PREFIX = 'metering.';
const RESERVED_VALUE_LENGTH = 256;

/** Ceilometer's fallbacks when a definition names no user or project: the request context's. */
const FALLBACK_USER = [
  attributeDefinition('user_id', '$.ctxt.user_id'),
  attributeDefinition('user_id', '$.ctxt.user'),
];
const FALLBACK_PROJECT = [
  attributeDefinition('project_id', '$.ctxt.project_id'),
  attributeDefinition('project_id', '$.ctxt.tenant_id'),
];
const firstOf = (candidates: AttributeDefinition[], notification: Notification) =>
  candidates.map((c) => c.read(notification, false)).find((v) => v !== null) ?? null;

type Fields = Record<string, unknown>;

/**
 * Ceilometer's `ProcessMeterNotifications`: every definition whose event type matches makes its
 * samples (one, or one per entry of a `lookup` payload), turned into meter dicts as
 * `Sample.from_notification` + `meter_message_from_counter` would write them, unsigned.
 */
export class NotificationMeters {
  constructor(private readonly definitions: readonly MeterDefinition[]) {}

  meter(notification: Notification): MeteringOutcome {
    if (!METERED_PRIORITIES.has(notification.priority)) return { kind: 'dropped', reason: 'priority' };
    const matching = this.definitions.filter((d) =>
      d.eventTypes.some((t) => t.test(notification.event_type)),
    );
    if (matching.length === 0) return { kind: 'dropped', reason: 'event_type' };
    const meters: PyDict[] = [];
    const failures: Error[] = [];
    let withoutVolume = 0;
    for (const definition of matching) {
      try {
        for (const sample of samplesOf(definition, notification)) {
          if (sample.volume === null || sample.volume === undefined) withoutVolume++;
          else meters.push(meterDict(sample, notification));
        }
      } catch (error) {
        failures.push(
          notificationMeterErrors(
            'NOTIFICATION_METERS_DEFINITION_FAILED',
            `${definition.name} on ${notification.event_type}: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          ),
        );
      }
    }
    return { kind: 'metered', meters, withoutVolume, failures };
  }
}

/** `MeterDefinition.to_samples`. */
function samplesOf(definition: MeterDefinition, notification: Notification): Fields[] {
  const metadata: Fields = Object.create(null);
  for (const [key, attribute] of definition.metadata) {
    const value = attribute.read(notification, false);
    if (truthy(value)) metadata[key] = value;
  }
  if (definition.userMetadata) {
    const source = definition.userMetadata.read(notification, false);
    if (truthy(source) && typeof source === 'object' && !Array.isArray(source))
      addReservedUserMetadata(source as Fields, metadata);
  }
  const sample: Fields = {
    name: definition.defaults.name,
    type: definition.defaults.type,
    unit: definition.defaults.unit,
    volume: null,
    timestamp: null,
    user_id: firstOf(FALLBACK_USER, notification),
    project_id: firstOf(FALLBACK_PROJECT, notification),
    resource_id: null,
    metadata,
  };
  const lookup = definition.lookup;
  if (!lookup) {
    for (const name of SAMPLE_ATTRIBUTES) {
      const value = definition.attributes.get(name)?.read(notification, false);
      if (value !== undefined && value !== null) sample[name] = value;
    }
    return [sample];
  }

  // Every attribute becomes a list; lookup attributes (and the name) replace the default even
  // when they find nothing, the others only when they find something.
  const lists = new Map<string, unknown[]>();
  for (const name of [...SAMPLE_ATTRIBUTES, 'metadata']) lists.set(name, [sample[name]]);
  for (const name of SAMPLE_ATTRIBUTES) {
    const attribute = definition.attributes.get(name);
    if (!attribute) continue;
    const found = attribute.read(notification, true);
    const values = Array.isArray(found) ? found : [found];
    if (lookup.includes(name) || name === 'name' || values.length > 0) lists.set(name, values);
  }
  const count = lists.get('name')!.length;
  if (count === 0) return [];
  for (const [name, values] of lists) {
    const cycles = values.length === 1 && !lookup.includes(name);
    if (values.length !== count && !cycles)
      throw new Error(`only ${values.length} of the ${count} meters of the payload have ${name}`);
  }
  return Array.from({ length: count }, (_, i) => {
    const one: Fields = {};
    for (const [name, values] of lists) one[name] = values.length === count ? values[i] : values[0];
    return one;
  });
}

/** Ceilometer's `add_reserved_user_metadata` for the `metering.` namespace. */
function addReservedUserMetadata(source: Fields, metadata: Fields): void {
  const user: Fields = Object.create(null);
  for (const [key, value] of Object.entries(source)) {
    if (!key.startsWith(RESERVED_PREFIX)) continue;
    const name = key.slice(RESERVED_PREFIX.length).replaceAll('.', '_');
    if (Object.hasOwn(metadata, name)) continue;
    user[name] = typeof value === 'string' ? value.slice(0, RESERVED_VALUE_LENGTH) : value;
  }
  if (Object.keys(user).length > 0) metadata.user_metadata = user;
}

/**
 * `Sample.from_notification` then `meter_message_from_counter`: an empty metadata becomes the
 * payload (when a dict) plus `event_type` and `host`; the timestamp is the definition's, else the
 * notification's.
 */
function meterDict(sample: Fields, notification: Notification): PyDict {
  let metadata = sample.metadata as Fields;
  if (!truthy(metadata)) {
    const payload = notification.payload;
    metadata = Object.create(null);
    if (typeof payload === 'object' && payload !== null && !Array.isArray(payload))
      Object.assign(metadata, payload);
    metadata.event_type = notification.event_type;
    metadata.host = notification.publisher_id;
  }
  return {
    source: 'openstack',
    counter_name: sample.name,
    counter_type: sample.type,
    counter_unit: sample.unit,
    counter_volume: sample.volume,
    user_id: sample.user_id,
    project_id: sample.project_id,
    resource_id: sample.resource_id,
    timestamp: sample.timestamp ?? notification.metadata.timestamp,
    resource_metadata: { ...metadata },
    message_id: randomUUID(),
    monotonic_time: null,
  } as PyDict;
}
