import type { RunningProcessor } from '@granary/app-processor';
import { partitionFor } from '@granary/kafka';
import { FileObjectStore, listSplitKeys, readManifest } from '@granary/storage';
import { type ReadStack, adminHeaders as headers, startReadStack, until } from '@granary/testing/api-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Measures written through the API come back through it: a real processor consumes them from
 * Kafka and checkpoints to the filesystem store the API reads, watermarks go through Redis.
 */

let stack: ReadStack;
let api: ReadStack['api'];
/** The processor of the current test; the stack stops every processor it started. */
let processor: RunningProcessor | undefined;

beforeAll(async () => {
  stack = await startReadStack('api-reads');
  api = stack.api;
});
afterAll(async () => {
  await stack?.stop();
});

async function createMetric(): Promise<string> {
  const created = await fetch(`${api.url}/v1/metric`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ archive_policy_name: 'high' }),
  });
  expect(created.status).toBe(201);
  return ((await created.json()) as { id: string }).id;
}

async function postMeasures(metricId: string, measures: { timestamp: string; value: number }[]) {
  const posted = await fetch(`${api.url}/v1/metric/${metricId}/measures`, {
    method: 'POST',
    headers,
    body: JSON.stringify(measures),
  });
  expect(posted.status).toBe(202);
}

const measuresOf = async (metricId: string, query: string) => {
  const response = await fetch(`${api.url}/v1/metric/${metricId}/measures?granularity=1&${query}`, {
    headers,
  });
  return { status: response.status, body: (await response.json()) as unknown };
};

describe('measures read through the API', () => {
  it('answers [] for a metric never written', async () => {
    expect(await measuresOf(await createMetric(), '')).toEqual({ status: 200, body: [] });
  });

  it('with refresh=true, reads a measure just written, which the checkpoint timer would not have stored yet', async () => {
    processor = await stack.startProcessor(3_600_000);
    const metricId = await createMetric();
    await postMeasures(metricId, [
      { timestamp: '2024-05-01T12:00:00Z', value: 4 },
      { timestamp: '2024-05-01T12:00:01Z', value: 6 },
    ]);
    expect(await measuresOf(metricId, 'refresh=true')).toEqual({
      status: 200,
      body: [
        ['2024-05-01T12:00:00+00:00', 1, 4],
        ['2024-05-01T12:00:01+00:00', 1, 6],
      ],
    });
    const status = (await (await fetch(`${api.url}/v1/status`, { headers })).json()) as {
      storage: { summary: { measures: number } };
      metricd: { processors: string[]; statistics: { partitions: number; partitions_owned: number } };
    };
    expect(status.storage.summary.measures).toBe(0);
    // The one processor of the group owns every partition, and is named.
    expect(status.metricd.processors).toHaveLength(1);
    expect(status.metricd.statistics.partitions_owned).toBe(status.metricd.statistics.partitions);
  });

  it('without refresh, reads a measure once the next timer checkpoint stored it', async () => {
    await processor?.stop();
    processor = await stack.startProcessor(500, 'eager');
    const metricId = await createMetric();
    await postMeasures(metricId, [{ timestamp: '2024-05-01T13:00:00Z', value: 42 }]);
    let read: Awaited<ReturnType<typeof measuresOf>> | undefined;
    await until(async () => {
      read = await measuresOf(metricId, '');
      return Array.isArray(read.body) && read.body.length > 0;
    });
    expect(read).toEqual({ status: 200, body: [['2024-05-01T13:00:00+00:00', 1, 42]] });
  });

  it('reads the same once compaction folded the live segments into Gnocchi splits', async () => {
    const metricId = await createMetric();
    const measures = [
      { timestamp: '2024-05-01T14:00:00Z', value: 1 },
      { timestamp: '2024-05-01T14:00:30Z', value: 3 },
    ];
    await postMeasures(metricId, measures);
    const fresh = await measuresOf(metricId, 'refresh=true');
    const store = new FileObjectStore({ basePath: stack.storage });
    const partition = partitionFor(metricId, 2);
    await until(async () => {
      const current = await readManifest(store, stack.topic, partition);
      const splits = await listSplitKeys(store, metricId, 'mean', 1_000_000);
      return current?.manifest.segments.length === 0 && splits.length > 0;
    });
    expect(await measuresOf(metricId, '')).toEqual(fresh);
    expect(fresh.body).toEqual([
      ['2024-05-01T14:00:00+00:00', 1, 1],
      ['2024-05-01T14:00:30+00:00', 1, 3],
    ]);
    const coarse = await fetch(`${api.url}/v1/metric/${metricId}/measures?granularity=60`, { headers });
    expect(await coarse.json()).toEqual([['2024-05-01T14:00:00+00:00', 60, 2]]);
  });
});
