import { readFileSync } from 'node:fs';
import { type Expression, compileExpression, expressionErrors } from '@granary/expression';
import type { CounterType } from '@granary/schema';
import snmp from 'net-snmp';
import { parse as parseYaml } from 'yaml';
import { pollingErrors } from '../errors.ts';
import { type PollContext, type PolledSample, type Pollster, cachedRead } from '../model.ts';

/**
 * Ceilometer's hardware SNMP pollsters (`hardware/pollsters/data/snmp.yaml`, removed in Zed):
 * resources are `snmp://[community|user[:authKey]@]host[:port]?auth_proto=md5|sha&priv_proto=
 * des|aes128|aes256&priv_password=` URLs; with auth options the session is SNMPv3 USM, otherwise
 * v2c with the community (default `public`). `type_exact` meters are read with one GET per
 * resource per cycle, `type_prefix` meters with GETBULK walks, their metadata from the same index.
 *
 * Values are handed to the definitions' `type` expressions as pysnmp's `prettyPrint()` would show
 * them (numbers, printable text, or `0x…` hex for binary strings), so `x.prettyPrint()` in a
 * definition reads as `x`. The samples' `resource_url` metadata is the URL without credentials.
 */
export const DEFAULT_SNMP_DEFINITIONS = new URL('../../data/snmp-hardware-pollsters.yaml', import.meta.url);

interface SnmpMetadataField {
  name: string;
  oid: string;
  convert: Expression;
}

export interface SnmpMeterDefinition {
  name: string;
  unit: string;
  type: CounterType;
  matching: 'type_exact' | 'type_prefix';
  oid: string;
  convert: Expression;
  metadata: SnmpMetadataField[];
  postOp: '_post_op_disk' | '_post_op_net' | '_post_op_memory_avail_to_used' | undefined;
}

export interface SnmpPollsterOptions {
  timeoutMs?: number;
  retries?: number;
}

const MEMORY_TOTAL_OID = '1.3.6.1.4.1.2021.4.5.0';
/** ipAdEntIfIndex: interface index of each local IP address (the index is the address). */
const IP_ADDRESS_IF_INDEX_OID = '1.3.6.1.2.1.4.20.1.2';
const POST_OPS = new Set(['_post_op_disk', '_post_op_net', '_post_op_memory_avail_to_used']);

/** `int`, `str` or `lambda x: …`, applied to the value `x`. */
function compileConversion(type: string): Expression {
  return compileExpression(`(${type.replaceAll('.prettyPrint()', '')})(x)`);
}

/** Parse a Ceilometer hardware SNMP definitions file (`metric:` list, YAML merge keys allowed). */
export function parseSnmpDefinitions(text: string, file = 'snmp.yaml'): SnmpMeterDefinition[] {
  const invalid = (problem: string, cause?: unknown) =>
    pollingErrors('POLLING_DEFINITIONS_INVALID', `${file}: ${problem}`, { cause });
  let document: { metric?: unknown };
  try {
    document = parseYaml(text, { merge: true }) as { metric?: unknown };
  } catch (cause) {
    throw invalid((cause as Error).message.split('\n')[0]!, cause);
  }
  if (!Array.isArray(document?.metric)) throw invalid('expected a "metric" list');
  return document.metric.map((raw: Record<string, unknown>) => {
    const name = String(raw?.name ?? '');
    const inspector = raw?.snmp_inspector as Record<string, unknown> | undefined;
    if (!name || !inspector)
      throw invalid(`metric ${JSON.stringify(name)} needs a name and an snmp_inspector`);
    const { matching_type: matching, oid, type, metadata, post_op: postOp, ...rest } = inspector;
    if (matching !== 'type_exact' && matching !== 'type_prefix') throw invalid(`${name}: bad matching_type`);
    if (!['gauge', 'delta', 'cumulative'].includes(String(raw.type))) throw invalid(`${name}: bad type`);
    if (postOp !== undefined && !POST_OPS.has(String(postOp)))
      throw invalid(`${name}: unknown post_op ${postOp}`);
    // The yoga file merges a metadata mapping straight into snmp_inspector (`<<: *diskio_metadata`);
    // entries holding an `oid` there are metadata too.
    const fields = { ...(metadata as Record<string, unknown>), ...rest } as Record<
      string,
      { oid?: unknown; type?: unknown }
    >;
    try {
      return {
        name,
        unit: String(raw.unit ?? ''),
        type: raw.type as CounterType,
        matching,
        oid: String(oid),
        convert: compileConversion(String(type ?? 'int')),
        metadata: Object.entries(fields)
          .filter(([, field]) => typeof field === 'object' && field !== null && field.oid !== undefined)
          .map(([fieldName, field]) => ({
            name: fieldName,
            oid: String(field.oid),
            convert: compileConversion(String(field.type ?? 'str')),
          })),
        postOp: postOp as SnmpMeterDefinition['postOp'],
      };
    } catch (error) {
      if (expressionErrors.is(error)) throw invalid(`${name}: ${error.message}`, error);
      throw error;
    }
  });
}

interface SnmpTarget {
  /** The resource as configured, credentials included: the key of the cycle's cached reads. */
  resource: string;
  host: string;
  port: number;
  /** The resource URL without credentials, for metadata. */
  publicUrl: string;
  open(options: { timeout: number; retries: number }): snmp.Session;
}

const PRIV_PROTOCOLS: Record<string, snmp.PrivProtocols> = {
  des: snmp.PrivProtocols.des,
  aes128: snmp.PrivProtocols.aes,
  aes256: snmp.PrivProtocols.aes256b,
};
const AUTH_PROTOCOLS: Record<string, snmp.AuthProtocols> = {
  md5: snmp.AuthProtocols.md5,
  sha: snmp.AuthProtocols.sha,
};

/** Ceilometer's resource URL; unusable credentials options are permanent for that resource. */
export function parseSnmpUrl(resource: string): SnmpTarget {
  const permanent = (problem: string) =>
    pollingErrors('POLLING_PERMANENT_FAILURE', `${problem} in ${resource}`, {
      details: { resources: [resource] },
    });
  let url: URL;
  try {
    url = new URL(resource);
  } catch {
    throw permanent('not a URL');
  }
  if (url.protocol !== 'snmp:' || !url.hostname) throw permanent('not an snmp:// URL with a host');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port ? Number(url.port) : 161;
  const user = decodeURIComponent(url.username);
  const authKey = decodeURIComponent(url.password);
  const authProto = url.searchParams.get('auth_proto');
  const privProto = url.searchParams.get('priv_proto');
  const privKey = url.searchParams.get('priv_password') ?? undefined;
  const publicUrl = `snmp://${url.host}`;
  const transport = host.includes(':') ? 'udp6' : 'udp4';
  if (!authProto && !privProto && !authKey) {
    return {
      resource,
      host,
      port,
      publicUrl,
      open: (options) =>
        snmp.createSession(host, user || 'public', { ...options, port, transport, version: snmp.Version2c }),
    };
  }
  const authProtocol = AUTH_PROTOCOLS[authProto ?? 'md5'];
  if (authProtocol === undefined) throw permanent(`unsupported auth_proto ${authProto}`);
  const privProtocol = privProto ? PRIV_PROTOCOLS[privProto] : undefined;
  if (privProto && privProtocol === undefined) throw permanent(`unsupported priv_proto ${privProto}`);
  if (privProto && !privKey) throw permanent('priv_proto without priv_password');
  const level = privProtocol ? snmp.SecurityLevel.authPriv : snmp.SecurityLevel.authNoPriv;
  return {
    resource,
    host,
    port,
    publicUrl,
    open: (options) =>
      snmp.createV3Session(
        host,
        { name: user, level, authProtocol, authKey, privProtocol, privKey },
        { ...options, port, transport, version: snmp.Version3 },
      ),
  };
}

/** A value as pysnmp's prettyPrint() shows it. */
function prettyValue(varbind: snmp.Varbind): number | string | null {
  const { value } = varbind;
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return Number(value);
  if (varbind.type === snmp.ObjectType.Counter64) return value.reduce((total, byte) => total * 256 + byte, 0);
  // pysnmp's OctetString.prettyOut: control bytes (other than tab, LF, CR) or invalid UTF-8 print as hex.
  const hex = `0x${value.toString('hex')}`;
  if (value.some((byte) => byte < 32 && byte !== 9 && byte !== 10 && byte !== 13)) return hex;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(value);
  } catch {
    return hex;
  }
}

function failure(target: SnmpTarget, error: Error) {
  return pollingErrors('POLLING_SOURCE_FAILED', `SNMP ${target.publicUrl}: ${error.message}`, {
    cause: error,
  });
}

function withSession<T>(
  target: SnmpTarget,
  options: Required<SnmpPollsterOptions>,
  run: (session: snmp.Session, done: (error: Error | null, result?: T) => void) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const session = target.open({ timeout: options.timeoutMs, retries: options.retries });
    // Socket errors arrive as events; without a listener they would crash the process.
    session.on('error', (error: Error) => reject(failure(target, error)));
    run(session, (error, result) => {
      session.close();
      if (error) reject(failure(target, error));
      else resolve(result as T);
    });
  });
}

function getAll(
  target: SnmpTarget,
  oids: string[],
  options: Required<SnmpPollsterOptions>,
): Promise<Map<string, snmp.Varbind>> {
  return withSession(target, options, (session, done) =>
    session.get(oids, (error, varbinds) => done(error, new Map((varbinds ?? []).map((v) => [v.oid, v])))),
  );
}

function walk(
  target: SnmpTarget,
  oid: string,
  options: Required<SnmpPollsterOptions>,
): Promise<Map<string, snmp.Varbind>> {
  const rows = new Map<string, snmp.Varbind>();
  return withSession(target, options, (session, done) =>
    session.subtree(
      oid,
      100,
      (varbinds) => {
        for (const varbind of varbinds) {
          if (!snmp.isVarbindError(varbind)) rows.set(varbind.oid.slice(oid.length + 1), varbind);
        }
      },
      (error) => done(error, rows),
    ),
  );
}

function convert(
  definition: { name: string },
  expression: Expression,
  value: number | string | null,
): unknown {
  try {
    return expression.evaluate({ x: value });
  } catch (cause) {
    throw pollingErrors(
      'POLLING_BAD_RESPONSE',
      `${definition.name}: cannot convert ${JSON.stringify(value)}`,
      { cause },
    );
  }
}

/** One pollster per definition; resources are snmp:// URLs. */
export function createSnmpPollsters(
  definitions: SnmpMeterDefinition[],
  options: SnmpPollsterOptions = {},
): Pollster[] {
  const settings = { timeoutMs: options.timeoutMs ?? 2000, retries: options.retries ?? 1 };
  const exactOids = [
    ...new Set([
      MEMORY_TOTAL_OID,
      ...definitions.filter((d) => d.matching === 'type_exact').map((d) => d.oid),
    ]),
  ];
  const exactValues = (context: PollContext, target: SnmpTarget) =>
    cachedRead(context, `snmp:${target.resource}:exact`, () => getAll(target, exactOids, settings));
  const table = (context: PollContext, target: SnmpTarget, oid: string) =>
    cachedRead(context, `snmp:${target.resource}:walk:${oid}`, () => walk(target, oid, settings));

  const pollExact = async (
    definition: SnmpMeterDefinition,
    target: SnmpTarget,
    context: PollContext,
  ): Promise<PolledSample[]> => {
    const values = await exactValues(context, target);
    const varbind = values.get(definition.oid);
    if (!varbind || snmp.isVarbindError(varbind)) {
      // Not permanent: snmpd serves some values (cpu.util) only once it has sampled twice.
      throw pollingErrors(
        'POLLING_BAD_RESPONSE',
        `${target.publicUrl} does not serve ${definition.oid} (${definition.name})`,
      );
    }
    let volume = Number(convert(definition, definition.convert, prettyValue(varbind)));
    if (definition.postOp === '_post_op_memory_avail_to_used') {
      const total = values.get(MEMORY_TOTAL_OID);
      if (!total || snmp.isVarbindError(total))
        throw pollingErrors('POLLING_BAD_RESPONSE', `${target.publicUrl} lacks memTotalReal`);
      volume = Number(prettyValue(total)) - volume;
    }
    return [
      {
        name: definition.name,
        type: definition.type,
        unit: definition.unit,
        volume,
        resourceId: target.host,
        metadata: { resource_url: target.publicUrl },
        source: 'hardware',
      },
    ];
  };

  const pollPrefix = async (
    definition: SnmpMeterDefinition,
    target: SnmpTarget,
    context: PollContext,
  ): Promise<PolledSample[]> => {
    const [rows, metadataColumns, addresses] = await Promise.all([
      table(context, target, definition.oid),
      Promise.all(definition.metadata.map((field) => table(context, target, field.oid))),
      definition.postOp === '_post_op_net' ? table(context, target, IP_ADDRESS_IF_INDEX_OID) : undefined,
    ]);
    return [...rows].map(([index, varbind]) => {
      const metadata: Record<string, unknown> = { resource_url: target.publicUrl };
      definition.metadata.forEach((field, i) => {
        const cell = metadataColumns[i]!.get(index);
        metadata[field.name] = cell ? convert(definition, field.convert, prettyValue(cell)) : null;
      });
      let resourceId = target.host;
      if (definition.postOp === '_post_op_disk') resourceId = `${target.host}.${metadata.device ?? index}`;
      if (definition.postOp === '_post_op_net') {
        resourceId = `${target.host}.${metadata.name ?? index}`;
        const address = [...(addresses ?? [])].find(
          ([, ifIndex]) => String(prettyValue(ifIndex)) === index,
        )?.[0];
        metadata.ip = address ?? null;
      }
      return {
        name: definition.name,
        type: definition.type,
        unit: definition.unit,
        volume: Number(convert(definition, definition.convert, prettyValue(varbind))),
        resourceId,
        metadata,
        source: 'hardware',
      };
    });
  };

  return definitions.map((definition) => ({
    name: definition.name,
    handles: (resource) => resource.startsWith('snmp://'),
    async poll(resources, context) {
      const samples: PolledSample[] = [];
      const permanent: string[] = [];
      for (const resource of resources) {
        try {
          const target = parseSnmpUrl(resource);
          samples.push(
            ...(definition.matching === 'type_exact'
              ? await pollExact(definition, target, context)
              : await pollPrefix(definition, target, context)),
          );
        } catch (error) {
          if (!pollingErrors.is(error, 'POLLING_PERMANENT_FAILURE') || resources.length === 1) throw error;
          permanent.push(resource);
        }
      }
      if (permanent.length > 0) {
        // This run's samples of the other resources are dropped once; from the next cycle the
        // failing resources are blacklisted and the others polled as usual.
        throw pollingErrors(
          'POLLING_PERMANENT_FAILURE',
          `${definition.name} cannot poll ${permanent.join(', ')}`,
          {
            details: { resources: permanent },
          },
        );
      }
      return samples;
    },
  }));
}

/** The Ceilometer yoga hardware definitions shipped with Granary. */
export function defaultSnmpDefinitions(): SnmpMeterDefinition[] {
  return parseSnmpDefinitions(
    readFileSync(DEFAULT_SNMP_DEFINITIONS, 'utf8'),
    DEFAULT_SNMP_DEFINITIONS.pathname,
  );
}
