import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import {
  type ObservedTopic,
  type TopicAdmin,
  type TopicSpec,
  TopicsSection,
  provisionTopics,
  topicConfigEntries,
  withTopicAdmin,
} from '../index.ts';

/** An in-memory cluster: enough to check what provisioning asks and reports. */
class FakeAdmin implements Pick<TopicAdmin, 'describeTopics' | 'createTopics'> {
  readonly topics = new Map<string, ObservedTopic>();
  creations = 0;
  async describeTopics(names: readonly string[]) {
    return new Map([...this.topics].filter(([name]) => names.includes(name)));
  }
  async createTopics(specs: readonly TopicSpec[]) {
    this.creations++;
    for (const spec of specs) {
      this.topics.set(spec.name, {
        name: spec.name,
        partitions: spec.partitions,
        replicationFactor: spec.replicationFactor,
        configs: topicConfigEntries(spec),
      });
    }
  }
}

const spec = (name: string, partitions = 3): TopicSpec => ({
  name,
  partitions,
  replicationFactor: 1,
  retentionMs: 86_400_000,
  cleanupPolicy: 'delete',
});

describe('provisionTopics', () => {
  it('creates missing topics, then finds nothing to do on the next run', async () => {
    const admin = new FakeAdmin();
    const specs = [spec('a'), spec('b', 8)];
    expect(await provisionTopics(admin as unknown as TopicAdmin, specs)).toEqual({
      created: ['a', 'b'],
      unchanged: [],
      drift: [],
    });
    expect(await provisionTopics(admin as unknown as TopicAdmin, specs)).toEqual({
      created: [],
      unchanged: ['a', 'b'],
      drift: [],
    });
    expect(admin.creations).toBe(1);
  });

  it('reports drift of partitions, replication, retention and cleanup policy without changing anything', async () => {
    const admin = new FakeAdmin();
    admin.topics.set('a', {
      name: 'a',
      partitions: 6,
      replicationFactor: 3,
      configs: { 'retention.ms': '1000', 'cleanup.policy': 'compact' },
    });
    const report = await provisionTopics(admin as unknown as TopicAdmin, [spec('a')]);
    expect(report.created).toEqual([]);
    expect(report.unchanged).toEqual([]);
    expect(report.drift).toEqual([
      { topic: 'a', setting: 'partitions', expected: '3', actual: '6' },
      { topic: 'a', setting: 'replicationFactor', expected: '1', actual: '3' },
      { topic: 'a', setting: 'retention.ms', expected: '86400000', actual: '1000' },
      { topic: 'a', setting: 'cleanup.policy', expected: 'delete', actual: 'compact' },
    ]);
    expect(admin.creations).toBe(0);
  });

  it('refuses a configuration naming a topic twice', async () => {
    await expect(
      provisionTopics(new FakeAdmin() as unknown as TopicAdmin, [spec('a'), spec('a')]),
    ).rejects.toMatchObject({
      code: 'KAFKA_TOPIC_PROVISIONING_FAILED',
    });
  });

  it('has defaults for Granary topics, 64 measures partitions among them', () => {
    const topics = Value.Default(TopicsSection, {}) as Record<string, TopicSpec>;
    expect(topics.measures).toEqual({
      name: 'granary.measures',
      partitions: 64,
      replicationFactor: 1,
      retentionMs: 604_800_000,
      cleanupPolicy: 'delete',
    });
    expect(topics.samplesDeadLetter?.name).toBe('granary.samples.dlq');
    expect(Value.Check(TopicsSection, topics)).toBe(true);
  });
});

describe('withTopicAdmin', () => {
  /** Records the admin's life: connect, the work's calls, disconnect. */
  const recordingClient = (events: string[]) => ({
    createAdmin: () =>
      ({
        connect: async () => void events.push('connect'),
        disconnect: async () => void events.push('disconnect'),
        describeTopics: async () => {
          events.push('describe');
          return new Map();
        },
      }) as unknown as TopicAdmin,
  });

  it('connects, runs the work, disconnects, and returns what the work returned', async () => {
    const events: string[] = [];
    const result = await withTopicAdmin(recordingClient(events), async (admin) => {
      await admin.describeTopics(['a']);
      return 42;
    });
    expect(result).toBe(42);
    expect(events).toEqual(['connect', 'describe', 'disconnect']);
  });

  it('disconnects when the work fails, and rethrows its error', async () => {
    const events: string[] = [];
    const failure = new Error('provisioning refused');
    await expect(
      withTopicAdmin(recordingClient(events), async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(events).toEqual(['connect', 'disconnect']);
  });
});
