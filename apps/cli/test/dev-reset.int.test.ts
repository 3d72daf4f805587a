import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIndex } from '@granary/index';
import { FileObjectStore } from '@granary/storage';
import { infra } from '@granary/testing/infra';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { KafkaTools } from '../src/kafka-tools.ts';
import { cliEnv, granary, produce, testKafka, uniqueName } from './integration.ts';

const directory = mkdtempSync(join(tmpdir(), 'granary-cli-reset-'));
const databaseName = `granary_cli_reset_${randomUUID().slice(0, 8)}`;
const topics = {
  samples: { name: uniqueName('samples'), partitions: 2 },
  measures: { name: uniqueName('measures'), partitions: 3 },
  samplesDeadLetter: { name: uniqueName('samples.dlq'), partitions: 1 },
  measuresDeadLetter: { name: uniqueName('measures.dlq'), partitions: 1 },
};

function databaseUrl(name: string): string {
  const url = new URL(infra().databaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function query(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

afterAll(async () => {
  const admin = testKafka().createAdmin();
  await admin.connect();
  await admin.deleteTopics(Object.values(topics).map((t) => t.name));
  await admin.disconnect();
  await query(infra().databaseUrl, `DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
  rmSync(directory, { recursive: true, force: true });
});

describe('granary dev reset', () => {
  it('recreates the topics empty, the index database migrated and seeded, and empties the storage', async () => {
    const configFile = join(directory, 'granary.yaml');
    const basePath = join(directory, 'storage');
    writeFileSync(configFile, stringify({ topics, storage: { driver: 'file', file: { basePath } } }));
    const env = cliEnv({ DATABASE_URL: databaseUrl(databaseName) });
    await query(infra().databaseUrl, `CREATE DATABASE ${databaseName}`);
    await query(databaseUrl(databaseName), 'CREATE TABLE leftover (x int)');
    const store = new FileObjectStore({ basePath });
    await store.put('0b8a2a8e-54d2-4a43-9d2a-1f5b9f0c7e21/none_v3', new Uint8Array([1, 2, 3]));
    await store.close();
    expect((await granary(['topics', 'apply', '--config', configFile], env)).code).toBe(0);
    await produce([{ topic: topics.measures.name, key: 'k', value: Buffer.from('v') }]);

    const reset = await granary(['dev', 'reset', '--config', configFile, '--json'], env);

    expect(reset.err).toBe('');
    expect(reset.code).toBe(0);
    expect(JSON.parse(reset.out)).toMatchObject({ database: databaseName, deletedObjects: 1 });
    const tools = new KafkaTools({ brokers: infra().kafkaBrokers, clientId: 'granary-cli-tests' });
    const bounds = await tools.partitionBounds(topics.measures.name);
    await tools.close();
    expect(bounds.map((b) => b.high)).toEqual(['0', '0', '0']);
    const tables = await query(databaseUrl(databaseName), "SELECT to_regclass('leftover') AS leftover");
    expect(tables.rows[0].leftover).toBeNull();
    const index = createIndex({ databaseUrl: databaseUrl(databaseName), maxConnections: 1 });
    expect((await index.archivePolicies.list()).map((p) => p.name).sort()).toEqual([
      'bool',
      'high',
      'low',
      'medium',
    ]);
    await index.close();
    expect(await new FileObjectStore({ basePath }).list('')).toEqual([]);
  });

  it('refuses endpoints that are not local (exit 3) before touching anything', async () => {
    const env = cliEnv({ KAFKA_BROKERS: 'kafka-0.prod.example:9092' });
    const { code, err } = await granary(['dev', 'reset'], env);
    expect(code).toBe(3);
    expect(err).toContain('Kafka broker kafka-0.prod.example:9092 [CLI_NOT_LOCAL]');
  });
});
