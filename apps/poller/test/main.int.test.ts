import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { eventually, infraConfig, pollingFile, readSamples, spawnPoller, uniqueName } from './support.ts';

describe('poller process (apps/poller/main.ts)', () => {
  it('exits at start on a malformed polling.yaml, logging the line at fault', async () => {
    const polling = pollingFile('sources:\n  - name: host\n    interval: ten\n    meters: ["*"]\n');
    const poller = spawnPoller(
      'malformed',
      {
        ...infraConfig(uniqueName('samples')),
        poller: { pollingFile: polling, telemetrySecret: 'poller-tests' },
      },
      polling,
    );
    expect(await poller.exited).toEqual({ code: 1, signal: null });
    const fatal = readFileSync(poller.log, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line))
      .find((entry) => entry.level === 60);
    expect(fatal.msg).toBe('poller failed to start');
    expect(fatal.err.code).toBe('POLLING_CONFIG_INVALID');
    expect(fatal.err.message).toContain(`${polling}:3:`);
  });

  it('reloads polling.yaml on SIGHUP and stops cleanly on SIGTERM', async () => {
    const topic = uniqueName('samples');
    const polling = pollingFile(
      'sources:\n  - name: host\n    interval: 1\n    meters: ["hardware.memory.total"]\n',
    );
    // The file watcher looks once an hour here, so only the SIGHUP can make the change visible.
    const poller = spawnPoller(
      'sighup',
      {
        ...infraConfig(topic),
        poller: { pollingFile: polling, watchIntervalMs: 3_600_000, telemetrySecret: 'poller-tests' },
      },
      polling,
    );
    let reader: Awaited<ReturnType<typeof readSamples>> | undefined;
    try {
      await eventually(async () => {
        reader = await readSamples(topic).catch(() => undefined);
        return reader !== undefined;
      }, 1000);
      const named = (name: string) => reader!.samples.filter((s) => s.sample.counter_name === name);
      await eventually(() => named('hardware.memory.total').length >= 1);

      writeFileSync(
        polling,
        'sources:\n  - name: host\n    interval: 1\n    meters: ["hardware.cpu.load.1min"]\n',
      );
      poller.process.kill('SIGHUP');
      await eventually(() => named('hardware.cpu.load.1min').length >= 1);

      poller.process.kill('SIGTERM');
      expect(await poller.exited).toEqual({ code: 0, signal: null });
      expect(readFileSync(poller.log, 'utf8')).not.toMatch(/"level":(50|60)/);
    } finally {
      if (poller.process.exitCode === null) poller.process.kill('SIGKILL');
      await reader?.stop();
    }
  });
});
