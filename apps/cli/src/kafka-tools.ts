/**
 * The one place the CLI uses kafkajs directly: operations the `TopicAdmin` port of @granary/kafka
 * does not offer (offsets by time, group state, moving committed offsets, topic config changes).
 * Everything else, reading exact offset ranges included, goes through @granary/kafka.
 */
import {
  type ConsumedRecord,
  type PartitionRange,
  type RangeReader,
  type TopicPartitionOffset,
  createKafkaClient,
  translated,
} from '@granary/kafka';
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import { cliErrors } from './errors.ts';

// CommonJS enums are not named ESM exports of kafkajs: take them from the default export.
const { ConfigResourceTypes, logLevel } = kafkajs;

export type { PartitionRange };

export interface PartitionBounds {
  partition: number;
  /** First offset still in the log. */
  low: string;
  /** Offset the next record will get (end offset). */
  high: string;
}

export interface GroupState {
  groupId: string;
  /** Kafka's group state: Empty, Stable, PreparingRebalance, CompletingRebalance, Dead. */
  state: string;
  members: number;
}

export class KafkaTools {
  private readonly kafka: Kafka;
  private readonly rangeReader: RangeReader;
  private connectedAdmin: Promise<Admin> | undefined;

  constructor(config: { brokers: string[]; clientId: string }) {
    this.kafka = new kafkajs.Kafka({
      clientId: config.clientId,
      brokers: config.brokers,
      logLevel: logLevel.NOTHING,
    });
    this.rangeReader = createKafkaClient(config).createRangeReader();
  }

  private admin(): Promise<Admin> {
    this.connectedAdmin ??= (async () => {
      const admin = this.kafka.admin();
      await translated('connect admin', () => admin.connect());
      return admin;
    })();
    return this.connectedAdmin;
  }

  async close(): Promise<void> {
    const admin = this.connectedAdmin;
    this.connectedAdmin = undefined;
    if (admin) await (await admin).disconnect();
  }

  async topicExists(topic: string): Promise<boolean> {
    const admin = await this.admin();
    return (await translated('list topics', () => admin.listTopics())).includes(topic);
  }

  async requireTopic(topic: string): Promise<void> {
    if (!(await this.topicExists(topic))) throw cliErrors('CLI_TOPIC_NOT_FOUND', topic);
  }

  /** Low and high offsets of every partition, in partition order. */
  async partitionBounds(topic: string): Promise<PartitionBounds[]> {
    await this.requireTopic(topic);
    const admin = await this.admin();
    const offsets = await translated(`fetch offsets of ${topic}`, () => admin.fetchTopicOffsets(topic));
    return offsets
      .map(({ partition, low, high }) => ({ partition, low, high }))
      .sort((a, b) => a.partition - b.partition);
  }

  /** Per partition, the first offset whose record timestamp is at or after `epochMs` (the end offset if none). */
  async offsetsAtTime(topic: string, epochMs: number): Promise<Map<number, string>> {
    await this.requireTopic(topic);
    const admin = await this.admin();
    const offsets = await translated(`fetch offsets of ${topic} at ${epochMs}`, () =>
      admin.fetchTopicOffsetsByTimestamp(topic, epochMs),
    );
    return new Map(offsets.map(({ partition, offset }) => [partition, offset]));
  }

  async listGroups(): Promise<string[]> {
    const admin = await this.admin();
    const { groups } = await translated('list consumer groups', () => admin.listGroups());
    return groups
      .filter((g) => g.protocolType === 'consumer' || g.protocolType === '')
      .map((g) => g.groupId)
      .sort();
  }

  async describeGroup(groupId: string): Promise<GroupState> {
    const admin = await this.admin();
    const { groups } = await translated(`describe group ${groupId}`, () => admin.describeGroups([groupId]));
    const group = groups[0];
    return { groupId, state: group?.state ?? 'Dead', members: group?.members.length ?? 0 };
  }

  /** Committed offsets of `groupId` on every topic it has committed to (or only `topic`). */
  async committedOffsets(groupId: string, topic?: string): Promise<TopicPartitionOffset[]> {
    const admin = await this.admin();
    const topics = await translated(`fetch offsets of group ${groupId}`, () =>
      admin.fetchOffsets({ groupId, ...(topic ? { topics: [topic] } : {}) }),
    );
    return topics.flatMap(({ topic: name, partitions }) =>
      partitions.map(({ partition, offset }) => ({ topic: name, partition, offset })),
    );
  }

  /** Commit `offsets` for an inactive group (the caller checks that it is inactive). */
  async setOffsets(
    groupId: string,
    topic: string,
    offsets: readonly { partition: number; offset: string }[],
  ): Promise<void> {
    const admin = await this.admin();
    await translated(`set offsets of group ${groupId} on ${topic}`, () =>
      admin.setOffsets({ groupId, topic, partitions: [...offsets] }),
    );
  }

  /**
   * Set topic configuration entries. Kafka's AlterConfigs replaces the topic's whole dynamic
   * configuration, so the entries already set on the topic are sent along with the new ones.
   */
  async alterTopicConfigs(topic: string, entries: Record<string, string>): Promise<void> {
    const admin = await this.admin();
    const { resources } = await translated(`describe configs of ${topic}`, () =>
      admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
      }),
    );
    const current = (resources[0]?.configEntries ?? []).filter(
      (e) => !e.isDefault && !e.readOnly && e.configValue !== null,
    );
    const merged = { ...Object.fromEntries(current.map((e) => [e.configName, e.configValue])), ...entries };
    await translated(`alter configs of ${topic}`, () =>
      admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: topic,
            configEntries: Object.entries(merged).map(([name, value]) => ({ name, value })),
          },
        ],
      }),
    );
  }

  async deleteGroups(groupIds: readonly string[]): Promise<void> {
    if (groupIds.length === 0) return;
    const admin = await this.admin();
    await translated('delete consumer groups', () => admin.deleteGroups([...groupIds]));
  }

  /** See `RangeReader` of @granary/kafka. */
  readRanges(
    topic: string,
    ranges: readonly PartitionRange[],
    onRecords: (records: ConsumedRecord[]) => Promise<'stop' | undefined>,
  ): Promise<void> {
    return this.rangeReader.readRanges(topic, ranges, onRecords);
  }
}
