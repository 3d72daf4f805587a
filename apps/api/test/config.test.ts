import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@granary/config';
import { describe, expect, it } from 'vitest';
import { ApiConfigSchema } from '../index.ts';

const repo = fileURLToPath(new URL('../../..', import.meta.url));

describe('the query service configuration', () => {
  it('defaults: refresh waits 10 s as Gnocchi, file storage where the local processor writes, Redis of the infra with a 10 s connect timeout', () => {
    const config = loadConfig(ApiConfigSchema, { env: {} });
    expect(config.measures).toEqual({
      writes: true,
      refreshTimeoutMs: 10_000,
      segmentCacheBytes: 64 * 1024 * 1024,
      splitCacheBytes: 64 * 1024 * 1024,
      processorGroupId: 'granary-processors',
    });
    expect(config.storage.driver).toBe('file');
    expect(config.storage.file.basePath).toBe('.granary/storage');
    expect(config.redis).toEqual({ url: 'redis://127.0.0.1:16379', connectTimeoutMs: 10_000 });
  });

  it("accepts the cluster file with the environment its Deployment gives it, reading the processors' S3 bucket", () => {
    const config = loadConfig(ApiConfigSchema, {
      file: join(repo, 'k8s/base/config/api.yaml'),
      env: {
        KAFKA_BROKERS: 'granary-kafka-bootstrap:9092',
        S3_ENDPOINT: 'http://granary-s3:9000',
        REDIS_URL: 'redis://:secret@granary-redis:6379',
        GRANARY_STORAGE__S3__ACCESS_KEY_ID: 'from-secret',
        GRANARY_STORAGE__S3__SECRET_ACCESS_KEY: 'from-secret',
      },
    });
    expect(config.storage.driver).toBe('s3');
    expect(config.storage.s3.endpoint).toBe('http://granary-s3:9000');
    expect(config.redis.url).toBe('redis://:secret@granary-redis:6379');
  });

  it('accepts the local file of `make run`', () => {
    const config = loadConfig(ApiConfigSchema, { file: join(repo, 'config/local/api.yaml'), env: {} });
    expect(config.api.port).toBe(8041);
  });
});
