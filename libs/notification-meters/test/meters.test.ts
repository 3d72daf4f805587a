import { describe, expect, it } from 'vitest';
import {
  type Notification,
  NotificationMeters,
  decodeNotification,
  parseMeterDefinitions,
} from '../index.ts';

const notification = (overrides: Partial<Notification>): Notification => ({
  ctxt: { user_id: 'ctx-user', project_id: 'ctx-project' },
  publisher_id: 'service.host-1',
  event_type: 'thing.update',
  payload: {},
  metadata: { message_id: 'm-1', timestamp: '2026-01-01 12:00:00.500000' },
  priority: 'info',
  ...overrides,
});
const metersOf = (yaml: string, n: Notification) => {
  const outcome = new NotificationMeters(parseMeterDefinitions(yaml, 'test').definitions).meter(n);
  if (outcome.kind !== 'metered') throw new Error(`dropped: ${outcome.reason}`);
  return outcome;
};

describe('meter definitions', () => {
  it('keeps the last entry of a name, and skips (reporting why) what Ceilometer refuses', () => {
    const { definitions, skipped } = parseMeterDefinitions(
      `
metric:
  - {name: a, event_type: x, type: gauge, unit: B, volume: $.payload.v, resource_id: $.payload.id}
  - {name: a, event_type: y, type: delta, unit: B, volume: $.payload.v, resource_id: $.payload.id}
  - {name: no-volume, event_type: x, type: gauge, unit: B, volume: 0, resource_id: $.payload.id}
  - {name: bad-type, event_type: x, type: rate, unit: B, volume: 1, resource_id: $.payload.id}
  - {name: bad-path, event_type: x, type: gauge, unit: B, volume: "$.payload[", resource_id: $.payload.id}
  - {name: bad-plugin, event_type: x, type: gauge, unit: B, volume: {fields: $.a, plugin: bitfield}, resource_id: $.id}
  - {name: bad-regex, event_type: "x(", type: gauge, unit: B, volume: 1, resource_id: $.payload.id}
`,
      'test',
    );
    expect(definitions.map((d) => [d.name, d.defaults.type])).toEqual([['a', 'delta']]);
    expect(skipped.map((s) => s.name).sort()).toEqual(
      ['bad-path', 'bad-plugin', 'bad-regex', 'bad-type', 'no-volume'].sort(),
    );
    expect(skipped.find((s) => s.name === 'no-volume')!.problem).toMatch(/volume/);
    expect(() => parseMeterDefinitions('metrics: []', 'f.yaml')).toThrowError(
      expect.objectContaining({ code: 'NOTIFICATION_METERS_DEFINITIONS_INVALID' }),
    );
  });

  it('matches event types as anchored regexes, and only info and sample priorities', () => {
    const meters = new NotificationMeters(
      parseMeterDefinitions(
        `metric: [{name: a, event_type: 'compute.instance.(?!update).*', type: gauge, unit: B, volume: 1, resource_id: $.payload.id}]`,
        'test',
      ).definitions,
    );
    const kind = (event_type: string, priority = 'info') =>
      meters.meter(notification({ event_type, priority, payload: { id: 'r' } }));
    expect(kind('compute.instance.exists').kind).toBe('metered');
    expect(kind('compute.instance.exists', 'sample').kind).toBe('metered');
    expect(kind('compute.instance.update')).toEqual({ kind: 'dropped', reason: 'event_type' });
    expect(kind('x.compute.instance.exists')).toEqual({ kind: 'dropped', reason: 'event_type' });
    expect(kind('compute.instance.exists', 'error')).toEqual({ kind: 'dropped', reason: 'priority' });
  });

  it('falls back on the context for the ids, and on the payload for empty metadata', () => {
    const { meters } = metersOf(
      'metric: [{name: a, event_type: thing, type: gauge, unit: B, volume: $.payload.v, resource_id: $.payload.id, metadata: {gone: $.payload.none, zero: $.payload.zero}}]',
      notification({ payload: { id: 'r-1', v: 3, zero: 0 } }),
    );
    expect(meters).toEqual([
      expect.objectContaining({
        counter_name: 'a',
        counter_type: 'gauge',
        counter_unit: 'B',
        counter_volume: 3,
        user_id: 'ctx-user',
        project_id: 'ctx-project',
        resource_id: 'r-1',
        timestamp: '2026-01-01 12:00:00.500000',
        source: 'openstack',
        resource_metadata: {
          id: 'r-1',
          v: 3,
          zero: 0,
          event_type: 'thing.update',
          host: 'service.host-1',
        },
      }),
    ]);
    const legacy = metersOf(
      'metric: [{name: a, event_type: thing, type: gauge, unit: B, volume: 1, resource_id: $.payload.id}]',
      notification({ ctxt: { user: 'old-user', tenant_id: 'old-project' }, payload: { id: 'r' } }),
    );
    expect(legacy.meters[0]).toMatchObject({ user_id: 'old-user', project_id: 'old-project' });
  });

  it('adds the metering.* user metadata, truncated, without overriding a defined key', () => {
    const { meters } = metersOf(
      'metric: [{name: a, event_type: thing, type: gauge, unit: B, volume: 1, resource_id: $.payload.id, user_metadata: $.payload.metadata, metadata: {stack: $.payload.id}}]',
      notification({
        payload: {
          id: 'r',
          metadata: { 'metering.stack': 'x', 'metering.server.group': 'y'.repeat(300), other: 'z' },
        },
      }),
    );
    expect(meters[0]!.resource_metadata).toEqual({
      stack: 'r',
      user_metadata: { server_group: 'y'.repeat(256) },
    });
  });

  it('makes one sample per lookup entry, and fails the definition when the lists disagree', () => {
    const yaml = `
metric:
  - name: $.payload.m[*].name
    event_type: thing
    type: gauge
    unit: $.payload.m[*].unit
    volume: $.payload.m[*].value
    resource_id: $.payload.id
    lookup: [name, unit, volume]
`;
    const good = metersOf(
      yaml,
      notification({
        payload: {
          id: 'r',
          m: [
            { name: 'x', unit: 'B', value: 1 },
            { name: 'y', unit: 's', value: 2 },
          ],
        },
      }),
    );
    expect(good.meters.map((m) => [m.counter_name, m.counter_unit, m.counter_volume, m.resource_id])).toEqual(
      [
        ['x', 'B', 1, 'r'],
        ['y', 's', 2, 'r'],
      ],
    );
    const uneven = metersOf(
      yaml,
      notification({
        payload: {
          id: 'r',
          m: [
            { name: 'x', unit: 'B', value: 1 },
            { name: 'y', value: 2 },
          ],
        },
      }),
    );
    expect(uneven.meters).toEqual([]);
    expect(uneven.failures[0]).toMatchObject({ code: 'NOTIFICATION_METERS_DEFINITION_FAILED' });
    expect(metersOf(yaml, notification({ payload: { id: 'r', m: [] } })).meters).toEqual([]);
  });

  it('leaves out the samples whose volume the payload lacks, counting them', () => {
    const outcome = metersOf(
      'metric: [{name: a, event_type: thing, type: gauge, unit: B, volume: $.payload.v, resource_id: $.payload.id}]',
      notification({ payload: { id: 'r' } }),
    );
    expect(outcome).toMatchObject({ meters: [], withoutVolume: 1, failures: [] });
  });
});

describe('decodeNotification', () => {
  const envelope = (message: unknown) =>
    Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(message) }));

  it("reads the Kafka driver's envelope and every context serialisation", () => {
    expect(
      decodeNotification(
        envelope({
          message_id: 'm',
          publisher_id: 'image.localhost',
          event_type: 'image.upload',
          priority: 'INFO',
          payload: { id: 'i' },
          timestamp: '2026-01-01 00:00:00.000001',
          context: { user_id: 'u' },
          _context_project_id: 'p',
        }),
      ),
    ).toEqual({
      ctxt: { user_id: 'u', project_id: 'p' },
      publisher_id: 'image.localhost',
      event_type: 'image.upload',
      payload: { id: 'i' },
      metadata: { message_id: 'm', timestamp: '2026-01-01 00:00:00.000001' },
      priority: 'info',
    });
  });

  it('refuses what is not a notification with NOTIFICATION_METERS_NOT_A_NOTIFICATION or a depth error', () => {
    const deep = `{"oslo.message": ${JSON.stringify(`{"event_type": "x", "payload": ${'['.repeat(100)}${']'.repeat(100)}}`)}}`;
    for (const bad of [
      null,
      Buffer.from('nope'),
      Buffer.from('[]'),
      Buffer.from('{"oslo.message": 5}'),
      Buffer.from('{"oslo.message": "{"}'),
      envelope({ payload: {} }),
      envelope({ event_type: 'x' }),
      envelope({ event_type: 'x', payload: {}, priority: 3 }),
      envelope({ event_type: 'x'.repeat(256), payload: {} }),
    ])
      expect(() => decodeNotification(bad), String(bad)).toThrowError(
        expect.objectContaining({ code: 'NOTIFICATION_METERS_NOT_A_NOTIFICATION' }),
      );
    expect(() => decodeNotification(Buffer.from(deep))).toThrowError(
      expect.objectContaining({ code: 'TELEMETRY_TOO_DEEP' }),
    );
    const hostile = decodeNotification(
      Buffer.from('{"event_type": "x", "payload": {}, "context": {"__proto__": {"user_id": "evil"}}}'),
    );
    expect(Object.getPrototypeOf(hostile.ctxt)).toBeNull();
    expect(hostile.ctxt.user_id).toBeUndefined();
  });
});
