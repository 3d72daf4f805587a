import { join } from 'node:path';
import { PollerConfigSchema, startPoller } from '@granary/app-poller';
import { loadConfig } from '@granary/config';
import { createLogger } from '@granary/observability';
import { PLACEHOLDER_TELEMETRY_SECRET, checkTelemetrySecret } from '@granary/telemetry';
import { describe, expect, it } from 'vitest';
import { IngestConfigSchema, startIngest } from '../index.ts';

const repo = join(import.meta.dirname, '..', '..', '..');
const logger = createLogger('secret-test', 'silent');

describe("Ceilometer's placeholder telemetry secret", () => {
  it('stops ingest and the poller at start when nothing allows it', async () => {
    const ingest = loadConfig(IngestConfigSchema, { env: {} });
    expect(ingest.ingest.telemetrySecret).toBe(PLACEHOLDER_TELEMETRY_SECRET);
    await expect(startIngest(ingest, logger)).rejects.toMatchObject({
      code: 'TELEMETRY_PLACEHOLDER_SECRET',
      message: expect.stringContaining('ingest.telemetrySecret'),
    });
    await expect(startPoller(loadConfig(PollerConfigSchema, { env: {} }), logger)).rejects.toMatchObject({
      code: 'TELEMETRY_PLACEHOLDER_SECRET',
      message: expect.stringContaining('poller.telemetrySecret'),
    });
  });

  it('is allowed, with a warning, by the development files of make run', () => {
    for (const [app, schema] of [
      ['ingest', IngestConfigSchema],
      ['poller', PollerConfigSchema],
    ] as const) {
      const config = loadConfig(schema, { file: join(repo, 'config', 'local', `${app}.yaml`), env: {} });
      const settings = 'ingest' in config ? config.ingest : config.poller;
      expect(checkTelemetrySecret(settings.telemetrySecret, settings.allowPlaceholderSecret, app)).toBe(true);
    }
  });

  it('is not needed by a deployment that sets its own secret, or turns signing off', () => {
    const config = loadConfig(IngestConfigSchema, {
      file: join(repo, 'k8s', 'base', 'config', 'ingest.yaml'),
      env: { GRANARY_INGEST__TELEMETRY_SECRET: 'from-secret' },
    });
    expect(config.ingest.allowPlaceholderSecret).toBe(false);
    expect(checkTelemetrySecret(config.ingest.telemetrySecret, false, 'ingest.telemetrySecret')).toBe(false);
    expect(checkTelemetrySecret('', false, 'ingest.telemetrySecret')).toBe(false);
  });
});
