import type { ObservedTopic, TopicSpec } from '@granary/kafka';
import { describe, expect, it } from 'vitest';
import { type TopicsApplyAdmin, applyTopics, renderTopicsReport } from '../src/topics-apply.ts';

const spec = (name: string, partitions: number, retentionMs = 3_600_000): TopicSpec => ({
  name,
  partitions,
  replicationFactor: 1,
  retentionMs,
  cleanupPolicy: 'delete',
});

/** A cluster in memory: topics as `describeTopics` reports them, and every config change made. */
function fakeCluster(existing: TopicSpec[]) {
  const topics = new Map<string, ObservedTopic>();
  const observe = (s: TopicSpec): ObservedTopic => ({
    name: s.name,
    partitions: s.partitions,
    replicationFactor: s.replicationFactor,
    configs: { 'retention.ms': String(s.retentionMs), 'cleanup.policy': s.cleanupPolicy },
  });
  for (const s of existing) topics.set(s.name, observe(s));
  const admin: TopicsApplyAdmin = {
    describeTopics: async (names) =>
      new Map(names.flatMap((n) => (topics.has(n) ? [[n, topics.get(n)!]] : []))),
    createTopics: async (specs) => {
      for (const s of specs) topics.set(s.name, observe(s));
    },
    alterTopicConfigs: async (topic, entries) => {
      const observed = topics.get(topic)!;
      observed.configs = { ...observed.configs, ...entries };
    },
  };
  return { admin, topics };
}

describe('topics apply', () => {
  it('creates missing topics, updates retention in place, and reports a partition difference it leaves alone', async () => {
    const cluster = fakeCluster([spec('granary.measures', 8, 60_000), spec('granary.samples', 16)]);
    const wanted = [
      spec('granary.samples', 16),
      spec('granary.measures', 64),
      spec('granary.samples.dlq', 4),
    ];

    const report = await applyTopics(cluster.admin, wanted, { dryRun: false });

    expect(report).toEqual({
      dryRun: false,
      created: ['granary.samples.dlq'],
      updated: [{ topic: 'granary.measures', setting: 'retention.ms', from: '60000', to: '3600000' }],
      unchanged: ['granary.samples'],
      drift: [{ topic: 'granary.measures', setting: 'partitions', expected: '64', actual: '8' }],
    });
    expect(cluster.topics.get('granary.measures')?.configs['retention.ms']).toBe('3600000');
    expect(cluster.topics.get('granary.measures')?.partitions).toBe(8);
  });

  it('is idempotent: a second run changes nothing and reports only the drift it cannot fix', async () => {
    const cluster = fakeCluster([spec('granary.measures', 8)]);
    const wanted = [spec('granary.measures', 64, 120_000), spec('granary.samples', 16)];
    await applyTopics(cluster.admin, wanted, { dryRun: false });

    const again = await applyTopics(cluster.admin, wanted, { dryRun: false });

    expect(again.created).toEqual([]);
    expect(again.updated).toEqual([]);
    expect(again.unchanged).toEqual(['granary.samples']);
    expect(again.drift).toEqual([
      { topic: 'granary.measures', setting: 'partitions', expected: '64', actual: '8' },
    ]);
  });

  it('under --dry-run reports the same plan and changes nothing', async () => {
    const cluster = fakeCluster([spec('granary.measures', 64, 60_000)]);
    const wanted = [spec('granary.measures', 64), spec('granary.samples', 16)];

    const report = await applyTopics(cluster.admin, wanted, { dryRun: true });

    expect(report.created).toEqual(['granary.samples']);
    expect(report.updated).toEqual([
      { topic: 'granary.measures', setting: 'retention.ms', from: '60000', to: '3600000' },
    ]);
    expect(cluster.topics.has('granary.samples')).toBe(false);
    expect(cluster.topics.get('granary.measures')?.configs['retention.ms']).toBe('60000');
  });

  it('renders one line per action, drift with the reason it is left alone', () => {
    const text = renderTopicsReport({
      dryRun: false,
      created: ['granary.samples.dlq'],
      updated: [{ topic: 'granary.measures', setting: 'cleanup.policy', from: 'compact', to: 'delete' }],
      unchanged: ['granary.samples'],
      drift: [
        { topic: 'granary.measures', setting: 'partitions', expected: '64', actual: '8' },
        { topic: 'granary.samples', setting: 'replicationFactor', expected: '3', actual: '1' },
      ],
    });
    expect(text.split('\n')).toEqual([
      'created       granary.samples.dlq',
      'updated       granary.measures: cleanup.policy compact -> delete',
      'unchanged     granary.samples',
      'DRIFT         granary.measures: partitions is 8, configured 64 (not changed: more partitions would send keys to other partitions (and orphan checkpointed state); fewer is impossible)',
      'DRIFT         granary.samples: replicationFactor is 1, configured 3 (not changed: needs a partition reassignment (kafka-reassign-partitions.sh))',
    ]);
  });

  it('says "would" for every change of a dry run', () => {
    const text = renderTopicsReport({
      dryRun: true,
      created: ['a'],
      updated: [{ topic: 'b', setting: 'retention.ms', from: '1', to: '2' }],
      unchanged: [],
      drift: [],
    });
    expect(text).toBe('would create  a\nwould update  b: retention.ms 1 -> 2');
  });
});
