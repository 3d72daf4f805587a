import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aptInstall, commandExists, stopProcess, waitUntil } from './process.ts';

/** SNMPv3 USM credentials of the test agent (SHA authentication, AES-128 privacy). */
export interface SnmpV3User {
  name: string;
  authProtocol: 'sha';
  authKey: string;
  privProtocol: 'aes128';
  privKey: string;
}

export interface Snmpd {
  host: string;
  port: number;
  /** Read-only v2c community. */
  community: string;
  v3: SnmpV3User;
  /** `snmpget` of `oids` with the v2c community; raw `-Oqv` output lines (value only). */
  get(oids: readonly string[]): string[];
  /** `snmpwalk` of `oid` with the v2c community: index suffix → raw value. */
  walk(oid: string): Map<string, string>;
  stop(): Promise<void>;
}

/** A free UDP port on localhost (the kernel picks it; released just before snmpd binds it). */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

function netSnmp(command: string, args: string[]): string {
  const result = spawnSync(command, ['-m', '', '-t', '1', '-r', '1', ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr || result.stdout}`);
  return result.stdout;
}

/**
 * Start Debian's net-snmp `snmpd` in the foreground on a free localhost UDP port, with a v2c
 * community and a v3 USM user, its state in a temporary directory. It serves this machine's
 * UCD-SNMP (load, memory, cpu, disks, disk I/O) and IF-MIB tables, which Ceilometer's hardware
 * pollsters read. `snmpd` and the `snmp` tools are installed with apt when missing.
 */
export async function startSnmpd(): Promise<Snmpd> {
  if (!commandExists('snmpd')) aptInstall(['snmpd']);
  if (!commandExists('snmpget')) aptInstall(['snmp']);
  const dir = mkdtempSync(join(tmpdir(), 'granary-snmpd-'));
  const persistent = join(dir, 'persist');
  mkdirSync(persistent);
  const port = await freeUdpPort();
  const host = '127.0.0.1';
  const community = 'granary-ro';
  const v3: SnmpV3User = {
    name: 'granary-v3',
    authProtocol: 'sha',
    authKey: 'granary-auth-secret',
    privProtocol: 'aes128',
    privKey: 'granary-priv-secret',
  };
  const config = join(dir, 'snmpd.conf');
  writeFileSync(
    config,
    [
      `[snmp] persistentDir ${persistent}`,
      `agentAddress udp:${host}:${port}`,
      `rocommunity ${community} ${host}`,
      `createUser ${v3.name} SHA "${v3.authKey}" AES "${v3.privKey}"`,
      `rouser ${v3.name} priv`,
      // Without these the UCD disk and load tables are empty.
      'includeAllDisks 10%',
      'load 12 10 5',
      '',
    ].join('\n'),
  );
  const logFile = join(dir, 'snmpd.log');
  const log = openSync(logFile, 'a');
  // -C: only our configuration; -f: foreground, so the pid is snmpd's; -Lf: log to our file.
  const child = spawn('snmpd', ['-f', '-C', '-c', config, '-Lf', logFile, '-p', join(dir, 'snmpd.pid')], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  if (child.pid === undefined) throw new Error('snmpd could not be started');
  const pid = child.pid;
  child.unref();

  const target = `${host}:${port}`;
  const snmpd: Snmpd = {
    host,
    port,
    community,
    v3,
    get: (oids) =>
      netSnmp('snmpget', ['-v2c', '-c', community, '-Oqv', '-On', target, ...oids])
        .trimEnd()
        .split('\n'),
    walk: (oid) => {
      const values = new Map<string, string>();
      for (const line of netSnmp('snmpwalk', ['-v2c', '-c', community, '-Oq', '-On', target, oid])
        .trimEnd()
        .split('\n')) {
        const space = line.indexOf(' ');
        const name = line.slice(0, space);
        if (name.startsWith(`.${oid}.`)) values.set(name.slice(oid.length + 2), line.slice(space + 1));
      }
      return values;
    },
    stop: async () => {
      await stopProcess(pid, 5_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitUntil('snmpd', async () => snmpd.get(['1.3.6.1.2.1.1.3.0']).length === 1, {
      timeoutMs: 15_000,
      logFile,
      pid,
    });
  } catch (error) {
    await snmpd.stop();
    throw error;
  }
  return snmpd;
}
