import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { granary, testKafka, uniqueName } from './integration.ts';

const directory = mkdtempSync(join(tmpdir(), 'granary-cli-topics-'));
const names = {
  samples: uniqueName('samples'),
  measures: uniqueName('measures'),
  samplesDeadLetter: uniqueName('samples.dlq'),
  measuresDeadLetter: uniqueName('measures.dlq'),
};

afterAll(async () => {
  const admin = testKafka().createAdmin();
  await admin.connect();
  await admin.deleteTopics(Object.values(names));
  await admin.disconnect();
  rmSync(directory, { recursive: true, force: true });
});

/** A configuration file whose topics have these partition counts and retention. */
function configFile(partitions: number, retentionMs: number, cleanupPolicy = 'delete'): string {
  const file = join(directory, `granary-${partitions}-${retentionMs}-${cleanupPolicy}.yaml`);
  const topic = (name: string) => ({ name, partitions, replicationFactor: 1, retentionMs, cleanupPolicy });
  writeFileSync(
    file,
    stringify({ topics: Object.fromEntries(Object.entries(names).map(([key, name]) => [key, topic(name)])) }),
  );
  return file;
}

/** `granary topics apply` of `configFile(…config)` with `options`. */
const apply = (config: Parameters<typeof configFile>, ...options: string[]) =>
  granary(['topics', 'apply', '--config', configFile(...config), ...options]);

describe('granary topics apply against the real broker', () => {
  it('creates, then changes nothing, updates retention and cleanup policy in place, and reports partition drift with exit 3', async () => {
    const created = await apply([2, 3_600_000], '--json');
    expect(created.code).toBe(0);
    expect(JSON.parse(created.out)).toMatchObject({ created: Object.values(names), updated: [], drift: [] });

    const again = await apply([2, 3_600_000], '--json');
    expect(JSON.parse(again.out)).toMatchObject({
      created: [],
      updated: [],
      unchanged: Object.values(names),
    });

    const dryRun = await apply([2, 7_200_000, 'compact'], '--dry-run');
    expect(dryRun.code).toBe(0);
    expect(dryRun.out).toContain(`would update  ${names.measures}: retention.ms 3600000 -> 7200000`);

    const updated = await apply([2, 7_200_000, 'compact'], '--json');
    expect(updated.code).toBe(0);
    expect(JSON.parse(updated.out).updated).toContainEqual({
      topic: names.measures,
      setting: 'cleanup.policy',
      from: 'delete',
      to: 'compact',
    });
    const settled = await apply([2, 7_200_000, 'compact'], '--json');
    expect(JSON.parse(settled.out)).toMatchObject({ updated: [], unchanged: Object.values(names) });

    const drifted = await apply([4, 7_200_000, 'compact']);
    expect(drifted.code).toBe(3);
    expect(drifted.out).toContain(`DRIFT         ${names.measures}: partitions is 2, configured 4`);
  });
});
