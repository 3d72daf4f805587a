import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { KafkaSection, LogSection, configErrors, loadConfig } from '../index.ts';

const Schema = Type.Object(
  {
    kafka: KafkaSection,
    log: LogSection,
    api: Type.Object(
      { maxLimit: Type.Integer({ minimum: 1, default: 1000 }), port: Type.Integer({ default: 8041 }) },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

function yamlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'granary-config-')), 'granary.yaml');
  writeFileSync(file, text);
  return file;
}

describe('loadConfig', () => {
  it('fills defaults when nothing is given', () => {
    const config = loadConfig(Schema, { env: {} });
    expect(config.api.maxLimit).toBe(1000);
    expect(config.kafka.brokers).toEqual(['127.0.0.1:19092']);
    expect(config.log.level).toBe('info');
  });

  it('layers file, endpoint variables and GRANARY_ overrides in that order', () => {
    const file = yamlFile('api:\n  maxLimit: 7\n  port: 9000\nkafka:\n  brokers: [a:1]\n');
    const config = loadConfig(Schema, {
      file,
      env: { KAFKA_BROKERS: 'b:2, c:3', GRANARY_API__PORT: '9100', DATABASE_URL: 'postgres://ignored' },
    });
    expect(config.api).toEqual({ maxLimit: 7, port: 9100 });
    expect(config.kafka.brokers).toEqual(['b:2', 'c:3']);
  });

  it('names the first bad key and where it came from', () => {
    expect(() => loadConfig(Schema, { env: { GRANARY_API__MAX_LIMIT: '0' } })).toThrowError(
      /key 'api.maxLimit'.*GRANARY_API__MAX_LIMIT/,
    );
    const file = yamlFile('api:\n  colour: blue\n');
    try {
      loadConfig(Schema, { file, env: {} });
      expect.unreachable();
    } catch (err) {
      expect(configErrors.is(err, 'CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).toContain(file);
    }
  });

  it('refuses a file that is not YAML', () => {
    const file = yamlFile('api: [unclosed\n');
    expect(() => loadConfig(Schema, { file, env: {} })).toThrowError(/not valid YAML/);
  });
});
