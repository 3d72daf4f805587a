import { randomUUID } from 'node:crypto';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  AvroDeserializer,
  AvroSerializer,
  SchemaRegistryClient,
  SerdeType,
} from '@confluentinc/schemaregistry';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { infra } from '../infra/endpoints.ts';

// Each test proves a component is the real thing by doing what only the real thing does.

describe('Kafka + Schema Registry', () => {
  it('round-trips an Avro record whose id the registry assigned', async () => {
    const { kafkaBrokers, schemaRegistryUrl } = infra();
    const topic = `smoke-${randomUUID()}`;
    const schema = {
      type: 'record',
      name: 'Smoke',
      namespace: 'io.granary.test',
      fields: [
        { name: 'greeting', type: 'string' },
        { name: 'count', type: 'long' },
      ],
    };
    const registry = new SchemaRegistryClient({ baseURLs: [schemaRegistryUrl] });
    const id = await registry.register(`${topic}-value`, {
      schemaType: 'AVRO',
      schema: JSON.stringify(schema),
    });
    const serializer = new AvroSerializer(registry, SerdeType.VALUE, { useLatestVersion: true });
    const bytes = await serializer.serialize(topic, { greeting: 'hello', count: 42 });
    expect(bytes[0]).toBe(0);
    expect(bytes.readInt32BE(1)).toBe(id);

    const kafka = new Kafka({ brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: bytes }] });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `smoke-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<Buffer>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          if (message.value) resolve(message.value);
        },
      });
    });
    await consumer.disconnect();
    const deserializer = new AvroDeserializer(registry, SerdeType.VALUE, {});
    expect(await deserializer.deserialize(topic, received)).toEqual({ greeting: 'hello', count: 42 });
  });
});

describe('S3 server', () => {
  it('puts, lists and reads back an object', async () => {
    const s3 = new S3Client({
      endpoint: infra().s3Endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'granary', secretAccessKey: 'granary' },
      // S3Proxy (like several S3-compatible servers) rejects the SDK's default CRC32 checksum headers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const bucket = `smoke-${randomUUID().slice(0, 8)}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const body = Buffer.from([0, 1, 2, 250, 255]);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'metric/none_v3', Body: body }));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'metric/' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['metric/none_v3']);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'metric/none_v3' }));
    expect(Buffer.from(await got.Body!.transformToByteArray())).toEqual(body);
    s3.destroy();
  });
});

describe('PostgreSQL', () => {
  it('stores and reads back a row in a transaction', async () => {
    const client = new pg.Client({ connectionString: infra().databaseUrl });
    await client.connect();
    try {
      await client.query('begin');
      await client.query('create temporary table smoke (id uuid primary key, data jsonb) on commit drop');
      const id = randomUUID();
      await client.query('insert into smoke values ($1, $2)', [id, { unit: 'ns' }]);
      const { rows } = await client.query('select data, version() as v from smoke where id = $1', [id]);
      expect(rows[0].data).toEqual({ unit: 'ns' });
      expect(rows[0].v).toMatch(/^PostgreSQL \d+/);
      await client.query('commit');
    } finally {
      await client.end();
    }
  });
});

describe('Redis', () => {
  it('sets, reads and expires a key', async () => {
    const redis = new Redis(infra().redisUrl);
    try {
      const key = `smoke:${randomUUID()}`;
      await redis.set(key, 'watermark:42', 'PX', 60_000);
      expect(await redis.get(key)).toBe('watermark:42');
      expect(await redis.pttl(key)).toBeGreaterThan(0);
      expect((await redis.info('server')).match(/redis_version:(\d+)/)?.[1]).toBeDefined();
    } finally {
      redis.disconnect();
    }
  });
});
