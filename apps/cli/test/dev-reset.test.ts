import { DatabaseSection, StorageSection } from '@granary/config';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { assertLocal, remoteEndpoints } from '../src/dev-reset.ts';

const storage = (overrides: object = {}) =>
  ({ ...(Value.Default(StorageSection, {}) as object), ...overrides }) as never;
const database = (url: string) => ({ ...(Value.Default(DatabaseSection, {}) as object), url }) as never;

describe('dev reset guard', () => {
  it('accepts the local development endpoints', () => {
    expect(
      remoteEndpoints({
        kafka: { brokers: ['127.0.0.1:19092', 'localhost:9092', '[::1]:9092', 'kafka.localhost:9092'] },
        database: database('postgres://granary@127.0.0.1:15432/granary'),
        storage: storage({ driver: 's3', s3: { endpoint: 'http://localhost:18333' } }),
      }),
    ).toEqual([]);
  });

  it('names every endpoint that is elsewhere', () => {
    expect(
      remoteEndpoints({
        kafka: { brokers: ['127.0.0.1:19092', 'kafka-0.prod:9092'] },
        database: database('postgres://granary@db.prod:5432/granary'),
        storage: storage({ driver: 's3', s3: { endpoint: 'https://s3.example.com' } }),
      }),
    ).toEqual(['Kafka broker kafka-0.prod:9092', 'PostgreSQL at db.prod', 'S3 at https://s3.example.com']);
  });

  it('refuses remote endpoints with exit-3 code CLI_NOT_LOCAL unless forced', () => {
    const remote = {
      kafka: { brokers: ['kafka-0.prod:9092'] },
      database: database('postgres://granary@127.0.0.1/granary'),
      storage: storage(),
    };
    expect(() => assertLocal(remote, false)).toThrow(
      expect.objectContaining({ code: 'CLI_NOT_LOCAL', status: 409 }),
    );
    expect(() => assertLocal(remote, true)).not.toThrow();
  });
});
