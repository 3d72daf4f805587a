import { describe, expect, it } from 'vitest';
import { compileJsonPath, notificationMeterErrors } from '../index.ts';

const message = {
  event_type: 'compute.metrics.update',
  publisher_id: 'compute.node-1',
  payload: {
    host: 'node-1',
    nodename: 'node-1.example',
    name_to_id: 'node-1@lvm#pool-a',
    outcome: 'success',
    glance_metadata: [
      { key: 'image_id', value: 'img-1' },
      { key: 'checksum', value: 'abc' },
    ],
    volume_attachment: [{ server_id: 'vm-1' }, { server_id: 'vm-2' }],
    metrics: [
      { name: 'cpu.frequency', value: 2400, source: 'libvirt' },
      { name: 'cpu.percent', value: 0.25, source: 'libvirt' },
    ],
    measurements: [
      { metric: { name: 'storage.objects.incoming.bytes', unit: 'B' }, result: 28 },
      { metric: { name: 'storage.objects.outgoing.bytes', unit: 'B' }, result: null },
    ],
    nothing: null,
  },
};
const find = (path: string, document: unknown = message) => compileJsonPath(path).find(document);

describe('the JSONPath of meters.yaml', () => {
  it('reads children, indexes (negative too), slices and wildcards', () => {
    expect(find('$.payload.host')).toEqual(['node-1']);
    expect(find('payload.host')).toEqual(['node-1']);
    expect(find("$.payload['host']")).toEqual(['node-1']);
    expect(find('$.payload.volume_attachment[0].server_id')).toEqual(['vm-1']);
    expect(find('$.payload.volume_attachment[-1].server_id')).toEqual(['vm-2']);
    expect(find('$.payload.volume_attachment[5].server_id')).toEqual([]);
    expect(find('$.payload.volume_attachment[*].server_id')).toEqual(['vm-1', 'vm-2']);
    expect(find('$.payload.volume_attachment[1:].server_id')).toEqual(['vm-2']);
    expect(find('$.payload.measurements.[*].metric.[*].name')).toEqual([
      'storage.objects.incoming.bytes',
      'storage.objects.outgoing.bytes',
    ]);
    expect(find('$.payload.measurements[*].result')).toEqual([28, null]);
    expect(find('$.payload.nothing')).toEqual([null]);
    expect(find('$.payload.absent')).toEqual([]);
    expect(find('$.payload.host.deeper')).toEqual([]);
    expect(find('$..server_id')).toEqual(['vm-1', 'vm-2']);
    expect(find('$.payload.volume_attachment[0].*')).toEqual(['vm-1']);
  });

  it('binds | tighter than . as jsonpath-rw does, and keeps every alternative in order', () => {
    expect(find('$.payload.(absent|host|nodename)')).toEqual(['node-1', 'node-1.example']);
    expect(find('($.payload.absent)|($.payload.host)')).toEqual(['node-1']);
    // $.payload.absent|$.payload.host is $.payload.(absent|$).payload.host: only the root branch finds it.
    expect(find('$.payload.absent|$.payload.host')).toEqual(['node-1']);
  });

  it('filters lists and dicts with both filter syntaxes', () => {
    expect(find('$.payload.glance_metadata[?key=image_id].value')).toEqual(['img-1']);
    expect(find("$.payload.metrics[?(@.name='cpu.percent')].value")).toEqual([0.25]);
    expect(find('$.payload.metrics[?(@.value > 1000)].name')).toEqual(['cpu.frequency']);
    expect(find("$.payload.metrics[?(@.name!='cpu.percent' & @.source='libvirt')].name")).toEqual([
      'cpu.frequency',
    ]);
    expect(find('$.payload.metrics[?missing].name')).toEqual([]);
    // Filters take lists only; against an integer the value is read as int() reads it.
    expect(find("$.payload[?(@ = 'node-1')]")).toEqual([]);
    expect(find('$.payload.metrics[?(@.value = 0)].name')).toEqual(['cpu.percent']);
    expect(find("$.payload.metrics[?(@.name ~ 'cpu.f')].value")).toEqual([2400]);
    expect(find("$.payload.metrics[?(@.name ~ 'f')].value")).toEqual([]);
  });

  it('computes with + - * / on paths and literals as Python would', () => {
    expect(find('$.payload.host + "_" + $.payload.nodename')).toEqual(['node-1_node-1.example']);
    expect(find("$.payload.metrics[?(@.name='cpu.percent')].value * 100")).toEqual([25]);
    // + - * alike, grouped from the right as jsonpath-rw-ext does: 2400 * (2 + 1), 2400 - (2 - 3).
    expect(find("$.payload.metrics[?(@.name='cpu.frequency')].value * 2 + 1")).toEqual([7200]);
    expect(find("$.payload.metrics[?(@.name='cpu.frequency')].value - 2 - 3")).toEqual([2401]);
    expect(find('$.payload.metrics[*].value - $.payload.metrics[*].value')).toEqual([0, 0]);
    // A string and a number do not add: no value, as Python's TypeError gives none.
    expect(find('$.payload.host + 1')).toEqual([]);
    // Both sides paths of different lengths: no value.
    expect(find('$.payload.metrics[*].value + $.payload.host')).toEqual([]);
  });

  it("runs jsonpath-rw-ext's named operators", () => {
    expect(find('$.payload.name_to_id.`split(#, 0, 1)`')).toEqual(['node-1@lvm']);
    expect(find('$.payload.name_to_id.`split(@, 1, -1)`')).toEqual(['lvm#pool-a']);
    expect(find('$.payload.name_to_id.`split(@, 5, -1)`')).toEqual([]);
    expect(find("$.payload.outcome.`sub(/.*/, )` + 'identity.authenticate.' + $.payload.outcome")).toEqual([
      'identity.authenticate.success',
    ]);
    expect(find('$.payload.host.`sub(/node-(\\d)/, n\\1)`')).toEqual(['n1']);
    expect(find('$.payload.metrics.`len`')).toEqual([2]);
    expect(find('$.payload.glance_metadata[*].key.`this`')).toEqual(['image_id', 'checksum']);
  });

  it('refuses what it cannot parse with a coded error, and never reads inherited properties', () => {
    for (const bad of [
      '$.payload.',
      '$.[',
      '%',
      '$.a[?]',
      '$.a.`nope`',
      '$.a.`str()`',
      '$.a +',
      'load.1min',
      '$.a / 2',
      '$.a.`split(#, -1, 1)`',
    ])
      expect(() => compileJsonPath(bad), bad).toThrowError(
        expect.objectContaining({ code: 'NOTIFICATION_METERS_PATH_SYNTAX' }),
      );
    const hostile = JSON.parse('{"__proto__": {"polluted": 1}, "a": {}}');
    expect(find('$.__proto__.polluted', hostile)).toEqual([1]);
    expect(find('$.a.constructor', hostile)).toEqual([]);
    expect(find('$.a.toString', hostile)).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(notificationMeterErrors.codes).toContain('NOTIFICATION_METERS_PATH_SYNTAX');
  });
});
