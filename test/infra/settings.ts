import { resolve } from 'node:path';
import { loadConfig } from '@granary/config';
import { type Static, Type } from '@sinclair/typebox';

/** The project root: test/infra sits two levels below it. */
export const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * What test/infra reads from its environment, validated like any other Granary config. Endpoint
 * variables that are set win over everything: those services are used as they are.
 */
const InfraSettingsSchema = Type.Object({
  kafka: Type.Object({ brokers: Type.Optional(Type.Array(Type.String())) }, { default: {} }),
  schemaRegistry: Type.Object({ url: Type.Optional(Type.String()) }, { default: {} }),
  database: Type.Object({ url: Type.Optional(Type.String()) }, { default: {} }),
  redis: Type.Object({ url: Type.Optional(Type.String()) }, { default: {} }),
  storage: Type.Object(
    { s3: Type.Object({ endpoint: Type.Optional(Type.String()) }, { default: {} }) },
    { default: {} },
  ),
  infra: Type.Object(
    {
      /** Where state, logs, pid files and caches live (`make infra-down` reads it too). */
      stateDir: Type.String({ default: resolve(PROJECT_ROOT, '.granary') }),
      /** `never` forbids Testcontainers even when a runtime answers; `auto` tries it first. */
      containers: Type.Union([Type.Literal('auto'), Type.Literal('never')], { default: 'auto' }),
      /** Keep services started by a test run running afterwards (faster reruns). */
      keep: Type.Boolean({ default: false }),
      /**
       * Added to every port below (and to the apps' ports in tools/run.ts): with a state directory
       * of its own, a second instance that a test may restart without touching the shared one.
       */
      portOffset: Type.Integer({ minimum: 0, maximum: 10_000, default: 0 }),
    },
    { default: {} },
  ),
});

export type InfraSettings = Static<typeof InfraSettingsSchema>;

export function loadInfraSettings(): InfraSettings {
  return loadConfig(InfraSettingsSchema, { file: '' });
}

/** Gnocchi's test users (admin, foobar, …) with empty passwords, for tests and conformance only. */
export const TEST_USERS_FILE = resolve(PROJECT_ROOT, 'test/fixtures/basic-users.yaml');

/** The S3 credentials S3Proxy checks signatures with: Granary's `storage.s3` defaults. */
export const S3_CREDENTIALS = { accessKeyId: 'granary', secretAccessKey: 'granary' } as const;

/**
 * Fixed local ports, away from the services' defaults so a developer's own instances don't clash;
 * shifted by `infra.portOffset` for an isolated instance.
 */
export const PORTS = shiftPorts(
  {
    kafka: 19092,
    kafkaController: 19093,
    registry: 18081,
    s3: 18333,
    postgres: 15432,
    redis: 16379,
    /** Keystone, started on demand by the tests that need it (test/infra/keystone.ts). */
    keystone: 15000,
    /** MinIO, started on demand by the tests that need it (test/infra/services/minio.ts). */
    minio: 18900,
  },
  loadInfraSettings().infra.portOffset,
);

function shiftPorts<Ports extends Record<string, number>>(ports: Ports, offset: number): Readonly<Ports> {
  return Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, port + offset])) as Ports;
}
