import type { DatabaseConfig, StorageConfig } from '@granary/config';
import { createIndex } from '@granary/index';
import { type TopicAdmin, type TopicSpec, provisionTopics } from '@granary/kafka';
import type { ObjectStore } from '@granary/storage';
import pg from 'pg';
import { cliErrors } from './errors.ts';

const LOCAL_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export function isLocalHost(host: string): boolean {
  return LOCAL_HOSTS.has(host.toLowerCase()) || host.toLowerCase().endsWith('.localhost');
}

/** The host of a `host:port` broker address (`[::1]:9092` included). */
function brokerHost(broker: string): string {
  const bracketed = /^\[([^\]]+)\]/.exec(broker);
  if (bracketed) return `[${bracketed[1]}]`;
  return broker.split(':')[0] ?? broker;
}

/** Every endpoint `dev reset` would destroy data on that is not on this machine. */
export function remoteEndpoints(config: {
  kafka: { brokers: string[] };
  database: DatabaseConfig;
  storage: StorageConfig;
}): string[] {
  const remote = config.kafka.brokers
    .filter((b) => !isLocalHost(brokerHost(b)))
    .map((b) => `Kafka broker ${b}`);
  const databaseHost = new URL(config.database.url).hostname;
  if (!isLocalHost(databaseHost)) remote.push(`PostgreSQL at ${databaseHost}`);
  if (config.storage.driver === 's3' && !isLocalHost(new URL(config.storage.s3.endpoint).hostname)) {
    remote.push(`S3 at ${config.storage.s3.endpoint}`);
  }
  return remote;
}

/** Refuse (exit 3) unless every endpoint is local, or the operator said `--force`. */
export function assertLocal(config: Parameters<typeof remoteEndpoints>[0], force: boolean): void {
  const remote = remoteEndpoints(config);
  if (remote.length > 0 && !force) throw cliErrors('CLI_NOT_LOCAL', remote.join(', '));
}

const TOPIC_DELETION_POLLS = 150;
const TOPIC_DELETION_POLL_MS = 200;

/** Delete the configured topics, wait until the broker has let go of them, create them again. */
export async function recreateTopics(admin: TopicAdmin, specs: readonly TopicSpec[]): Promise<string[]> {
  const names = specs.map((s) => s.name);
  const existing = [...(await admin.describeTopics(names)).keys()];
  if (existing.length > 0) await admin.deleteTopics(existing);
  // Deletion is asynchronous on the broker; creating a topic still being deleted would fail.
  for (let poll = 0; (await admin.describeTopics(names)).size > 0; poll++) {
    if (poll >= TOPIC_DELETION_POLLS)
      throw cliErrors('CLI_RESET_INCOMPLETE', `topics still being deleted: ${names.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, TOPIC_DELETION_POLL_MS));
  }
  await provisionTopics(admin, specs);
  return existing;
}

const quoteIdentifier = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Drop the index database and create it again, migrated and seeded like `index upgrade`. */
export async function recreateIndexDatabase(
  database: DatabaseConfig,
): Promise<{ database: string; version: number }> {
  const url = new URL(database.url);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (name === '' || name === 'postgres')
    throw cliErrors('CLI_USAGE', `refusing to drop database '${name || '(none)'}'`);
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  // Two connections: seeding holds one for its advisory lock while the inserts take another.
  const index = createIndex({ databaseUrl: database.url, maxConnections: 2 });
  try {
    const { version } = await index.migrate();
    await index.seed('defaults');
    return { database: name, version };
  } finally {
    await index.close();
  }
}

const DELETE_CHUNK = 1000;

/** Delete every object of the store; returns how many there were. */
export async function emptyStore(store: ObjectStore): Promise<number> {
  const keys = await store.list('');
  for (let start = 0; start < keys.length; start += DELETE_CHUNK)
    await store.delete(keys.slice(start, start + DELETE_CHUNK));
  return keys.length;
}
