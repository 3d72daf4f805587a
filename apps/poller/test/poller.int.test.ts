import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createLogger } from '@granary/observability';
import { pollingErrors } from '@granary/polling';
import { verifySample } from '@granary/telemetry';
import { describe, expect, it } from 'vitest';
import { startPoller } from '../index.ts';
import { eventually, pollerConfig, pollingFile, readSamples, uniqueName } from './support.ts';

const logger = createLogger('poller-test', 'silent');
const SECRET = 'integration secret';

const memTotalKB = () => Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);

describe('poller against the real Kafka and schema registry', () => {
  it('polls this host, signs the samples and produces them as Avro keyed by resource id; reloads keep it running', async () => {
    const topic = uniqueName('samples');
    const file = pollingFile(
      [
        'sources:',
        '  - name: host',
        '    interval: 1',
        '    meters: ["hardware.memory.total", "hardware.cpu.load.*"]',
      ].join('\n'),
    );
    const started = Date.now() * 1000;
    const poller = await startPoller(
      pollerConfig({
        pollingFile: file,
        samplesTopic: topic,
        telemetrySecret: SECRET,
        sampleSource: 'hardware',
      }),
      logger,
    );
    const reader = await readSamples(topic);
    try {
      const named = (name: string) => reader.samples.filter((s) => s.sample.counter_name === name);
      await eventually(
        () => named('hardware.memory.total').length >= 2 && named('hardware.cpu.load.1min').length >= 2,
      );
      const [memory] = named('hardware.memory.total');
      expect(memory!.key).toBe(hostname());
      expect(memory!.replica).toBe(poller.replicaId);
      expect(memory!.sample).toMatchObject({
        counter_type: 'gauge',
        counter_unit: 'KB',
        counter_volume: memTotalKB(),
        resource_id: hostname(),
        source: 'hardware',
        user_id: null,
        project_id: null,
      });
      expect(JSON.parse(memory!.sample.resource_metadata)).toEqual({ resource_url: hostname() });
      expect(memory!.sample.timestamp).toBeGreaterThanOrEqual(started);
      expect(memory!.sample.timestamp).toBeLessThanOrEqual(Date.now() * 1000);
      for (const { sample } of reader.samples) expect(verifySample(sample, SECRET)).toBe(true);
      expect(
        verifySample({ ...memory!.sample, counter_volume: memory!.sample.counter_volume + 1 }, SECRET),
      ).toBe(false);
      expect(named('hardware.cpu.user')).toEqual([]);

      // A malformed file is refused and the running configuration keeps polling.
      writeFileSync(file, 'sources:\n  - name: host\n    interval: -5\n    meters: ["*"]\n');
      expect(await poller.reload()).toBe(false);
      const before = named('hardware.memory.total').length;
      await eventually(() => named('hardware.memory.total').length >= before + 2);
      expect(named('hardware.cpu.user')).toEqual([]);

      // A good file is picked up by the file watcher, without a SIGHUP or a call.
      writeFileSync(file, 'sources:\n  - name: host\n    interval: 1\n    meters: ["hardware.cpu.user"]\n');
      await eventually(() => named('hardware.cpu.user').length >= 1);

      const metrics = await (await fetch(`${poller.adminUrl}/metrics`)).text();
      expect(metrics).toMatch(
        /granary_poller_polls_total\{source="host",pollster="hardware.memory.total"[^}]*\} [1-9]/,
      );
      expect(metrics).toMatch(
        /granary_poller_samples_total\{source="host",pollster="hardware.cpu.load.1min"[^}]*\} [1-9]/,
      );
      expect(metrics).toMatch(
        /granary_poller_last_success_timestamp_seconds\{source="host",pollster="hardware.cpu.user"/,
      );
      expect(metrics).toMatch(/granary_poller_config_reloads_total\{result="refused"[^}]*\} [1-9]/);
      expect(metrics).toMatch(/granary_poller_config_reloads_total\{result="applied"[^}]*\} [1-9]/);
      expect(metrics).toMatch(/granary_kafka_produce_requests_total\{outcome="ok"[^}]*\} [1-9]/);
      expect((await fetch(`${poller.adminUrl}/healthz`)).status).toBe(200);
    } finally {
      await poller.stop();
      await reader.stop();
    }
  });

  it('refuses to start on a malformed polling.yaml, naming the line at fault', async () => {
    const file = pollingFile('sources:\n  - name: host\n    interval: 10\n    meters: ["cpu", "!disk.*"]\n');
    const start = startPoller(
      pollerConfig({ pollingFile: file, samplesTopic: uniqueName('samples') }),
      logger,
    );
    await expect(start).rejects.toSatisfy(
      (error) =>
        pollingErrors.is(error, 'POLLING_CONFIG_INVALID') &&
        (error as Error).message.includes('polling.yaml:4:'),
    );
  });
});
