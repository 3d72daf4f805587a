import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aptInstall, commandExists } from './process.ts';

/**
 * Debian's `virsh` (libvirt-clients), installed when missing. Its `test:///<file>` driver runs
 * inside the client, so the compute tests need no libvirt daemon.
 */
export function ensureVirsh(): void {
  if (commandExists('virsh')) return;
  process.stderr.write('infra: installing libvirt-clients (virsh) from Debian...\n');
  aptInstall(['libvirt-clients']);
}

export interface TestInstance {
  uuid: string;
  /** libvirt's domain name. */
  domainName: string;
  displayName: string;
  flavor: { id: string; name: string; vcpus: number; ram: number; disk: number; ephemeral: number };
  userId: string;
  projectId: string;
  imageId: string;
  vcpus: number;
  /** Memory the test driver's balloon reports, KiB: available = actual, usable = unused = rss = half. */
  memoryKiB: number;
  disk: string;
  vnic: { name: string; mac: string };
  running: boolean;
}

export interface TestHypervisor {
  /** `test:///…/node.xml`, for `virsh -c` and the poller's `libvirt.uri`. */
  uri: string;
  instances: TestInstance[];
  /** A domain without nova metadata (not an instance). */
  foreignUuid: string;
  remove(): void;
}

const NOVA = 'http://openstack.org/xmlns/libvirt/nova/1.1';

function domainXml(instance: TestInstance, dir: string): string {
  const { flavor } = instance;
  return `
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>${instance.domainName}</name>
    <uuid>${instance.uuid}</uuid>
    <metadata>
      <nova:instance xmlns:nova="${NOVA}">
        <nova:package version="27.1.0"/>
        <nova:name>${instance.displayName}</nova:name>
        <nova:creationTime>2026-12-01 10:00:00</nova:creationTime>
        <nova:flavor name="${flavor.name}" id="${flavor.id}">
          <nova:memory>${flavor.ram}</nova:memory>
          <nova:disk>${flavor.disk}</nova:disk>
          <nova:swap>0</nova:swap>
          <nova:ephemeral>${flavor.ephemeral}</nova:ephemeral>
          <nova:vcpus>${flavor.vcpus}</nova:vcpus>
        </nova:flavor>
        <nova:owner>
          <nova:user uuid="${instance.userId}">demo-user</nova:user>
          <nova:project uuid="${instance.projectId}">demo</nova:project>
        </nova:owner>
        <nova:root type="image" uuid="${instance.imageId}"/>
      </nova:instance>
    </metadata>
    <memory unit='KiB'>${instance.memoryKiB}</memory>
    <vcpu>${instance.vcpus}</vcpu>
    <os><type arch='x86_64'>hvm</type></os>
    <on_poweroff>destroy</on_poweroff>
    <devices>
      <disk type='file' device='disk'>
        <source file='${join(dir, `${instance.domainName}.img`)}'/>
        <target dev='${instance.disk}' bus='virtio'/>
      </disk>
      <disk type='file' device='cdrom'>
        <target dev='hdc' bus='ide'/>
      </disk>
      <interface type='network'>
        <mac address='${instance.vnic.mac}'/>
        <source network='default'/>
        <target dev='${instance.vnic.name}'/>
      </interface>
      <memballoon model='virtio'/>
    </devices>
    ${instance.running ? '' : '<test:runstate>5</test:runstate>'}
  </domain>`;
}

/**
 * A libvirt test-driver node in a temporary directory: a running nova instance, a shut-off one
 * (the driver's `test:runstate` 5) and a domain nova did not create. The driver's counters
 * (CPU, block, interface) grow with the clock; its balloon statistics are constant.
 */
export function startTestHypervisor(): TestHypervisor {
  ensureVirsh();
  const dir = mkdtempSync(join(tmpdir(), 'granary-libvirt-'));
  const instance = (n: number, running: boolean): TestInstance => ({
    uuid: `6f0a4c1e-2b3d-4e5f-8a9b-0c1d2e3f4a5${n}`,
    domainName: `instance-0000000${n}`,
    displayName: `web-${n}`,
    flavor: { id: `${n + 1}`, name: 'm1.small', vcpus: 2, ram: 2048, disk: 20, ephemeral: 0 },
    userId: `user-${n}`,
    projectId: `project-${n}`,
    imageId: `image-${n}`,
    vcpus: 2,
    memoryKiB: 2 * 1024 * 1024,
    disk: 'vda',
    vnic: { name: `tap0000${n}`, mac: `fa:16:3e:00:00:0${n}` },
    running,
  });
  const instances = [instance(1, true), instance(2, false)];
  for (const { domainName } of instances) {
    const image = join(dir, `${domainName}.img`);
    writeFileSync(image, '');
    truncateSync(image, 10 * 1024 * 1024);
  }
  const foreignUuid = '0d4e9c8a-1111-4222-8333-944455556666';
  const file = join(dir, 'node.xml');
  writeFileSync(
    file,
    `<node>${instances.map((i) => domainXml(i, dir)).join('')}
  <domain type='test'>
    <name>not-nova</name>
    <uuid>${foreignUuid}</uuid>
    <memory unit='KiB'>1048576</memory>
    <vcpu>1</vcpu>
    <os><type arch='x86_64'>hvm</type></os>
  </domain>
</node>
`,
  );
  return {
    uri: `test://${file}`,
    instances,
    foreignUuid,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
