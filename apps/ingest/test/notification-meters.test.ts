import { readFileSync } from 'node:fs';
import { NotificationMeters, decodeNotification, parseMeterDefinitions } from '@granary/notification-meters';
import { admitMeterDict } from '@granary/publisher';
import {
  FIXTURES,
  type FixtureNotification,
  FIXTURE_IDS as ID,
  osloRecord,
} from '@granary/testing/notifications';
import { describe, expect, it } from 'vitest';
import { DEFAULT_METERS_FILE } from '../index.ts';

const shipped = parseMeterDefinitions(readFileSync(DEFAULT_METERS_FILE, 'utf8'), 'meters.yaml');
const meters = new NotificationMeters(shipped.definitions);
const RECEIVED = '2026-01-01T12:30:00.250000';

/** The samples the shipped meters.yaml makes of a fixture, admitted as ingest admits them. */
function samplesOf(fixture: FixtureNotification) {
  const outcome = meters.meter(decodeNotification(osloRecord(fixture)));
  if (outcome.kind !== 'metered') throw new Error(`${fixture.event_type} dropped: ${outcome.reason}`);
  expect(outcome.failures).toEqual([]);
  expect(outcome.withoutVolume).toBe(0);
  const samples = outcome.meters.map((meter) => admitMeterDict(meter, ''));
  return samples.sort((a, b) => a.counter_name.localeCompare(b.counter_name));
}

/** [name, type, unit, volume, resource, user, project] of each sample. */
const rows = (samples: ReturnType<typeof samplesOf>) =>
  samples.map((s) => [
    s.counter_name,
    s.counter_type,
    s.counter_unit,
    s.counter_volume,
    s.resource_id,
    s.user_id,
    s.project_id,
  ]);
/** A row of a sample owned by the fixtures' user and project. */
const owned = (name: string, type: string, unit: string, volume: number, resource: string) => [
  name,
  type,
  unit,
  volume,
  resource,
  ID.user,
  ID.project,
];
/** The first sample of a fixture, once its row is `row`. */
function firstSample(fixture: FixtureNotification, row: unknown[]) {
  const [first] = samplesOf(fixture);
  expect(rows([first!])).toEqual([row]);
  return first!;
}
const at = (iso: string) => Date.parse(`${iso}Z`) * 1000 + Number(iso.split('.')[1]?.slice(3) ?? 0);

describe("Granary's meters.yaml over the services' notifications", () => {
  it('loads every definition', () => {
    expect(shipped.skipped).toEqual([]);
    expect(shipped.definitions).toHaveLength(40);
  });

  it('compute: instance sizes with the instance metadata and metering.* user metadata, and the booting time', () => {
    const exists = samplesOf(FIXTURES.computeInstanceExists);
    expect(rows(exists)).toEqual([
      owned('disk.ephemeral.size', 'gauge', 'GiB', 0, ID.instance),
      owned('disk.root.size', 'gauge', 'GiB', 20, ID.instance),
      owned('memory', 'gauge', 'MiB', 2048, ID.instance),
      owned('vcpus', 'gauge', 'vcpu', 1, ID.instance),
    ]);
    expect(exists[2]!.timestamp).toBe(at(RECEIVED));
    expect(exists[2]!.resource_metadata).toEqual({
      host: 'compute-1',
      flavor_id: '2',
      flavor_name: 'm1.small',
      display_name: 'web-1',
      image_ref: ID.image,
      image_meta: { base_image_ref: ID.image, min_disk: '20', container_format: 'bare' },
      launched_at: '2026-01-01T12:00:42.500000',
      created_at: '2026-01-01 12:00:00+00:00',
      user_metadata: { stack: 'stack-1' },
    });
    const created = samplesOf(FIXTURES.computeInstanceCreateEnd);
    expect(rows(created)[0]).toEqual(
      owned('compute.instance.booting.time', 'gauge', 'sec', 42.5, ID.instance),
    );
    expect(created).toHaveLength(5);
    // compute.instance.update and create.start are left out by the negative lookahead.
    const update = meters.meter(
      decodeNotification(
        osloRecord({ ...FIXTURES.computeInstanceExists, event_type: 'compute.instance.update' }),
      ),
    );
    expect(update).toEqual({ kind: 'dropped', reason: 'event_type' });
  });

  it('compute nodes: each monitor reading, percentages scaled, at its own timestamp', () => {
    const samples = samplesOf(FIXTURES.computeMetricsUpdate);
    const node = 'compute-1_compute-1.example.org';
    expect(rows(samples)).toEqual([
      owned('compute.node.cpu.frequency', 'gauge', 'MHz', 2400, node),
      owned('compute.node.cpu.idle.percent', 'gauge', 'percent', 98, node),
      owned('compute.node.cpu.idle.time', 'cumulative', 'ns', 1_940_000_000_000_000, node),
      owned('compute.node.cpu.iowait.percent', 'gauge', 'percent', 0.25, node),
      owned('compute.node.cpu.iowait.time', 'cumulative', 'ns', 2_350_000_000_000, node),
      owned('compute.node.cpu.kernel.percent', 'gauge', 'percent', 0.5, node),
      owned('compute.node.cpu.kernel.time', 'cumulative', 'ns', 7_852_600_000_000, node),
      owned('compute.node.cpu.percent', 'gauge', 'percent', 2, node),
      owned('compute.node.cpu.user.percent', 'gauge', 'percent', 1.25, node),
      owned('compute.node.cpu.user.time', 'cumulative', 'ns', 17_421_440_000_000, node),
    ]);
    expect(samples.every((s) => s.timestamp === at('2026-01-01T12:05:00.000000'))).toBe(true);
    expect(samples[0]!.resource_metadata).toEqual({
      event_type: 'compute.metrics.update',
      host: 'compute.compute-1',
      source: 'libvirt.LibvirtDriver',
    });
  });

  it('image: size on upload, one download and one serve per send', () => {
    expect(rows(samplesOf(FIXTURES.imageUpload))).toEqual([
      owned('image.size', 'gauge', 'B', 21_430_272, ID.image),
    ]);
    expect(rows(samplesOf(FIXTURES.imageSend))).toEqual([
      ['image.download', 'delta', 'B', 21_430_272, ID.image, 'receiver-user', 'receiver-project'],
      owned('image.serve', 'delta', 'B', 21_430_272, ID.image),
    ]);
    // No metadata defined: the payload, the event type and the publisher.
    expect(samplesOf(FIXTURES.imageUpload)[0]!.resource_metadata).toMatchObject({
      name: 'cirros-0.6.2',
      event_type: 'image.upload',
      host: 'image.localhost',
    });
  });

  it('block storage: volume size with its image and instance, snapshots, pool capacity with its provider', () => {
    const volume = firstSample(FIXTURES.volumeCreateEnd, owned('volume.size', 'gauge', 'GiB', 10, ID.volume));
    expect(volume.resource_metadata).toEqual({
      display_name: 'data-1',
      volume_type: 'lvmdriver-1',
      volume_type_id: 'lvmdriver-1',
      image_id: ID.image,
      instance_id: ID.instance,
    });
    expect(rows(samplesOf(FIXTURES.snapshotExists))).toEqual([
      owned('snapshot.size', 'gauge', 'GiB', 10, ID.snapshot),
    ]);
    const pool = samplesOf(FIXTURES.capacityPool);
    const poolId = 'cinder-volume@lvm#lvm-pool';
    expect(rows(pool)).toEqual([
      owned('volume.provider.pool.capacity.allocated', 'gauge', 'GiB', 40, poolId),
      owned('volume.provider.pool.capacity.free', 'gauge', 'GiB', 60, poolId),
      owned('volume.provider.pool.capacity.provisioned', 'gauge', 'GiB', 45, poolId),
      owned('volume.provider.pool.capacity.total', 'gauge', 'GiB', 100, poolId),
      owned('volume.provider.pool.capacity.virtual_free', 'gauge', 'GiB', 55, poolId),
    ]);
    expect(pool.every((s) => s.resource_metadata.provider === 'cinder-volume@lvm')).toBe(true);
  });

  it('network: metering-label bandwidth, floating IPs and ports', () => {
    expect(rows(samplesOf(FIXTURES.l3Meter))).toEqual([owned('bandwidth', 'delta', 'B', 65_536, ID.label)]);
    const floating = firstSample(
      FIXTURES.floatingIpCreateEnd,
      owned('ip.floating', 'gauge', 'ip', 1, ID.floatingIp),
    );
    expect(floating.resource_metadata).toEqual({ floating_ip_address: '203.0.113.10', status: 'DOWN' });
    const port = firstSample(FIXTURES.portCreateEnd, owned('port', 'gauge', 'port', 1, ID.port));
    expect(port.resource_metadata).toEqual({
      network_id: 'net-1',
      device_id: ID.instance,
      device_owner: 'compute:nova',
      status: 'DOWN',
    });
  });

  it('object storage: one sample per CADF measurement, named by it', () => {
    expect(rows(samplesOf(FIXTURES.objectstoreRequest))).toEqual([
      owned('storage.objects.incoming.bytes', 'delta', 'B', 2048, `AUTH_${ID.project}`),
      owned('storage.objects.outgoing.bytes', 'delta', 'B', 0, `AUTH_${ID.project}`),
    ]);
  });

  it('identity: identity.authenticate.<outcome> per attempt', () => {
    expect(rows(samplesOf(FIXTURES.identityAuthenticate))).toEqual([
      owned('identity.authenticate.success', 'delta', 'user', 1, ID.user),
    ]);
  });

  it('dns: the audit period in seconds (timedelta), the user from the context', () => {
    const zone = firstSample(
      FIXTURES.dnsDomainExists,
      owned('dns.domain.exists', 'cumulative', 's', 3600, 'zone-1'),
    );
    expect(zone.resource_metadata).toEqual({
      status: 'ACTIVE',
      pool_id: 'pool-1',
      host: 'central.designate-1',
    });
  });

  it('databases and shares: the Trove audit period, the Manila share size with its metadata', () => {
    expect(rows(samplesOf(FIXTURES.troveInstanceExists))).toEqual([
      owned('trove.instance.exists', 'cumulative', 's', 1800, 'db-1'),
    ]);
    const share = firstSample(
      FIXTURES.shareCreateEnd,
      owned('manila.share.size', 'gauge', 'GiB', 50, 'share-1'),
    );
    expect(share.resource_metadata).toEqual({
      name: 'exports',
      host: 'manila-share-1@generic#pool',
      status: 'available',
      availability_zone: 'nova',
      protocol: 'NFS',
    });
  });

  it('container infrastructure: one Magnum sample per metric of the payload, named and unit-ed by it', () => {
    expect(rows(samplesOf(FIXTURES.magnumBayMetrics))).toEqual([
      owned('magnum.bay.cpu.util', 'gauge', '%', 12.5, 'bay-1'),
      owned('magnum.bay.memory.used', 'gauge', 'MB', 3072, 'bay-1'),
    ]);
  });
});
