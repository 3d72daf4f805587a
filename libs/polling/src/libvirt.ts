import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import { pollingErrors } from './errors.ts';

/**
 * libvirt through `virsh` (ADR 0022): one read-only `virsh` process per step, running several
 * commands separated by `;`, their outputs told apart by `echo` markers carrying a per-call nonce
 * (so no domain name or XML content can forge one). Only the machine-readable forms are parsed:
 * `list --uuid`, `dumpxml`, `domstats --raw`, the `key value` lines of the stats commands and
 * `cpu-stats`' fixed `cpu_time <seconds> seconds` line.
 */

/** Nova's libvirt metadata namespace, as Ceilometer's libvirt_metadata discovery asks for it. */
export const NOVA_METADATA_NAMESPACE = 'http://openstack.org/xmlns/libvirt/nova/1.1';

export interface NovaFlavor {
  id: string | null;
  name: string;
  vcpus: number | null;
  ram: number | null;
  disk: number | null;
  ephemeral: number | null;
  swap: number | null;
}

/** What nova writes in `<metadata><nova:instance>` (nova/virt/libvirt/config.py). */
export interface NovaMetadata {
  name: string;
  flavor: NovaFlavor;
  userId: string;
  projectId: string;
  /** The image uuid; null when booted from a volume. */
  imageId: string | null;
}

export interface DomainDisk {
  device: string;
}

export interface DomainInterface {
  /** The host-side device (`<target dev>`), what `domifstat` takes. */
  name: string;
  mac: string | null;
  /** nova's nwfilter name (`<filterref filter>`), Ceilometer's resource id when present. */
  filter: string | null;
  /** The filter's parameters, names lower-cased; a null-prototype object (names are guest-chosen). */
  parameters: Record<string, string>;
}

/** The parts of `virsh dumpxml` the compute pollsters use. */
export interface DomainDescription {
  uuid: string;
  /** libvirt's domain name (nova's `instance-%08x`). */
  name: string;
  osType: string | null;
  architecture: string | null;
  /** Virtual CPUs now (`<vcpu current>`, else the maximum). */
  vcpus: number | null;
  /** Null for a domain nova did not create (ignored by the compute pollsters, as Ceilometer). */
  nova: NovaMetadata | null;
  /** Disks with a source, by target device (Ceilometer's `_get_disk_devices`). */
  disks: DomainDisk[];
  interfaces: DomainInterface[];
}

/** A device name virsh can be given unquoted; anything else in a domain XML is skipped. */
const SAFE_ARGUMENT = /^[A-Za-z0-9_.:+@-]{1,128}$/;
const UUID = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;

export function isSafeVirshArgument(value: string): boolean {
  return SAFE_ARGUMENT.test(value);
}

/** Elements that may repeat, always read as lists (by path: nova's `<disk>` is a scalar). */
const LIST_PATHS = new Set([
  'domain.devices.disk',
  'domain.devices.interface',
  'domain.devices.interface.filterref.parameter',
]);

const xmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (_name, path) => LIST_PATHS.has(String(path)),
});

type XmlNode = Record<string, unknown>;

function child(node: unknown, name: string): XmlNode | undefined {
  if (typeof node !== 'object' || node === null) return undefined;
  const value = (node as XmlNode)[name];
  if (typeof value === 'string') return { '#text': value };
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as XmlNode)
    : undefined;
}

function children(node: unknown, name: string): XmlNode[] {
  if (typeof node !== 'object' || node === null) return [];
  const value = (node as XmlNode)[name];
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.map((item) =>
    typeof item === 'object' && item !== null ? (item as XmlNode) : { '#text': item },
  );
}

function text(node: XmlNode | undefined): string | null {
  if (!node) return null;
  const value = node['#text'];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : null;
}

function attribute(node: XmlNode | undefined, name: string): string | null {
  const value = node?.[`@${name}`];
  return typeof value === 'string' ? value : null;
}

/** A non-negative integer written in decimal, else null (Ceilometer's `_safe_find_int`). */
function integer(value: string | null): number | null {
  return value !== null && /^\d{1,15}$/.test(value.trim()) ? Number(value.trim()) : null;
}

/**
 * Nova's metadata: the `<metadata>` child in nova's namespace, whatever prefix it uses. Missing
 * owner or name means not usable, as Ceilometer's discovery skips such domains.
 */
function novaMetadata(metadata: XmlNode | undefined): NovaMetadata | null {
  if (!metadata) return null;
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    const colon = key.indexOf(':');
    const prefix = colon < 0 ? '' : key.slice(0, colon);
    const local = colon < 0 ? key : key.slice(colon + 1);
    const element = value as XmlNode;
    const declared = element[prefix ? `@xmlns:${prefix}` : '@xmlns'];
    if (local !== 'instance' || declared !== NOVA_METADATA_NAMESPACE) continue;
    const tag = (name: string) => (prefix ? `${prefix}:${name}` : name);
    const owner = child(element, tag('owner'));
    const userId = attribute(child(owner, tag('user')), 'uuid');
    const projectId = attribute(child(owner, tag('project')), 'uuid');
    const name = text(child(element, tag('name')));
    const flavor = child(element, tag('flavor'));
    if (!userId || !projectId || name === null || !flavor) return null;
    const flavorInt = (field: string) => integer(text(child(flavor, tag(field))));
    const root = children(element, tag('root')).find((node) => attribute(node, 'type') === 'image');
    return {
      name,
      flavor: {
        id: attribute(flavor, 'id'),
        name: attribute(flavor, 'name') ?? '',
        vcpus: flavorInt('vcpus'),
        ram: flavorInt('memory'),
        disk: flavorInt('disk'),
        ephemeral: flavorInt('ephemeral'),
        swap: flavorInt('swap'),
      },
      userId,
      projectId,
      imageId: attribute(root, 'uuid'),
    };
  }
  return null;
}

/** Parse `virsh dumpxml`; not a domain document is POLLING_BAD_RESPONSE. */
export function parseDomainXml(xml: string): DomainDescription {
  let document: XmlNode;
  try {
    document = xmlParser.parse(xml, true) as XmlNode;
  } catch (cause) {
    throw pollingErrors('POLLING_BAD_RESPONSE', 'libvirt domain XML does not parse', { cause });
  }
  const domain = child(document, 'domain');
  const uuid = text(child(domain, 'uuid'));
  const name = text(child(domain, 'name'));
  if (!domain || !uuid || !UUID.test(uuid) || name === null) {
    throw pollingErrors('POLLING_BAD_RESPONSE', 'libvirt domain XML lacks a uuid or a name');
  }
  const vcpu = child(domain, 'vcpu');
  const osType = child(child(domain, 'os'), 'type');
  const devices = child(domain, 'devices');
  const disks = children(devices, 'disk')
    .filter((disk) => child(disk, 'source') !== undefined)
    .map((disk) => attribute(child(disk, 'target'), 'dev'))
    .filter((device): device is string => device !== null && isSafeVirshArgument(device))
    .map((device) => ({ device }));
  const interfaces = children(devices, 'interface').flatMap((element): DomainInterface[] => {
    const device = attribute(child(element, 'target'), 'dev');
    if (device === null || !isSafeVirshArgument(device)) return [];
    const filterref = child(element, 'filterref');
    const parameters: Record<string, string> = Object.create(null);
    for (const parameter of children(filterref, 'parameter')) {
      const key = attribute(parameter, 'name');
      const value = attribute(parameter, 'value');
      if (key !== null && value !== null) parameters[key.toLowerCase()] = value;
    }
    return [
      {
        name: device,
        mac: attribute(child(element, 'mac'), 'address'),
        filter: attribute(filterref, 'filter'),
        parameters,
      },
    ];
  });
  return {
    uuid: uuid.toLowerCase(),
    name,
    osType: text(osType),
    architecture: attribute(osType, 'arch'),
    vcpus: integer(attribute(vcpu, 'current')) ?? integer(text(vcpu)),
    nova: novaMetadata(child(domain, 'metadata')),
    disks,
    interfaces,
  };
}

/** Lines `[<device>] <key> <value>` (domblkstat, domifstat, dommemstat): integer values by key. */
export function parseStatLines(output: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of output.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const value = integer(fields.at(-1) ?? null);
    if (fields.length >= 2 && value !== null) values.set(fields.at(-2)!, value);
  }
  return values;
}

/** `domblkinfo <dom> <dev>`: `Capacity: N`, `Allocation: N`, `Physical: N` in bytes. */
export function parseBlockInfo(output: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of output.split('\n')) {
    const match = /^\s*(\w+):\s+(\d{1,18})\s*$/.exec(line);
    if (match) values.set(match[1]!.toLowerCase(), Number(match[2]));
  }
  return values;
}

/** `domstats --raw` lines `key=value` of one domain. */
export function parseRawDomainStats(output: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of output.split('\n')) {
    const match = /^\s+([\w.]+)=(.*)$/.exec(line);
    if (match) values.set(match[1]!, match[2]!);
  }
  return values;
}

/**
 * `cpu-stats <dom> --total`'s `cpu_time <seconds>.<fraction> seconds`, in nanoseconds, read from
 * the digits (a float would lose nanoseconds past ~104 days of CPU time).
 */
export function parseCpuTimeNs(output: string): number | null {
  const match = /^\s*cpu_time\s+(\d{1,10})(?:\.(\d{1,9}))?\s+seconds\s*$/m.exec(output);
  if (!match) return null;
  return Number(match[1]) * 1e9 + Number((match[2] ?? '').padEnd(9, '0'));
}

export interface LibvirtClientOptions {
  /** libvirt connection URI, e.g. `qemu:///system` or `test:///path/node.xml`. */
  uri: string;
  /** Kill a `virsh` that has not answered after this long. */
  timeoutMs?: number;
  /** The `virsh` executable. */
  command?: string;
}

/** Each command's output, in order; empty when it printed nothing or failed. */
export interface BatchResult {
  outputs: string[];
}

/** A read-only libvirt connection through `virsh`. */
export class LibvirtClient {
  readonly uri: string;
  private readonly timeoutMs: number;
  private readonly command: string;

  constructor(options: LibvirtClientOptions) {
    this.uri = options.uri;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.command = options.command ?? 'virsh';
  }

  /** Uuids of every domain, running or not. */
  async listDomainUuids(): Promise<string[]> {
    const { outputs } = await this.batch([['list', '--all', '--uuid']]);
    const uuids = (outputs[0] ?? '')
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
    const bad = uuids.find((uuid) => !UUID.test(uuid));
    if (bad !== undefined)
      throw pollingErrors('POLLING_BAD_RESPONSE', `virsh list gave ${JSON.stringify(bad.slice(0, 80))}`);
    return uuids;
  }

  /**
   * Run commands (arguments already checked safe) in one `virsh` process; each command's output
   * comes back in order. An empty output means the command printed nothing or failed: virsh
   * carries on after a failing command (statistics of a domain that is not running are expected
   * to fail, and mean no sample, as Ceilometer's NoDataException). A connection that cannot be
   * opened, or a `virsh` that cannot run, is POLLING_SOURCE_FAILED.
   */
  batch(commands: readonly (readonly string[])[]): Promise<BatchResult> {
    for (const argument of commands.flat()) {
      if (!/^[A-Za-z0-9_.:+@-]+$/.test(argument))
        throw pollingErrors('POLLING_BAD_RESPONSE', `unsafe virsh argument ${JSON.stringify(argument)}`);
    }
    const nonce = randomBytes(8).toString('hex');
    const marker = (index: number) => `@@granary-${nonce}-${index}@@`;
    const script = commands.map((command, index) => `echo ${marker(index)}; ${command.join(' ')}`).join('; ');
    return new Promise((resolve, reject) => {
      const failed = (problem: string, cause?: unknown) =>
        reject(
          pollingErrors('POLLING_SOURCE_FAILED', `libvirt at ${this.uri}: ${problem}`, {
            cause,
            details: { uri: this.uri },
          }),
        );
      const child = spawn(this.command, ['--readonly', '--quiet', '--connect', this.uri, script], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LC_ALL: 'C' },
      });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      const timer = setTimeout(() => child.kill('SIGKILL'), this.timeoutMs);
      child.on('error', (error) => {
        clearTimeout(timer);
        failed(`cannot run ${this.command}: ${error.message}`, error);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        const errors = Buffer.concat(stderr).toString('utf8').trim();
        if (signal) return failed(`virsh killed by ${signal} after ${this.timeoutMs} ms`);
        const output = Buffer.concat(stdout).toString('utf8');
        // virsh exits non-zero when the connection fails (before any marker) or the last command fails.
        if (!output.includes(marker(0)))
          return failed(errors.split('\n').at(-1) || `virsh exited with ${code}`);
        const outputs = commands.map((_, index) => {
          const start = output.indexOf(marker(index));
          const end = index + 1 < commands.length ? output.indexOf(marker(index + 1)) : output.length;
          return start < 0 || end < 0 ? '' : output.slice(start + marker(index).length, end);
        });
        resolve({ outputs });
      });
    });
  }
}
