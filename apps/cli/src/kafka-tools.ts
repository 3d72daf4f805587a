/**
 * The CLI's view of Kafka over the ports of @granary/kafka: one admin connection opened on first
 * use, the range reader, and a named error for a topic that does not exist (kafkajs would retry
 * an unknown topic's offsets for seconds before failing vaguely).
 */
import {
  type ConsumedRecord,
  type GroupState,
  type PartitionBounds,
  type PartitionRange,
  type RangeReader,
  type TopicAdmin,
  type TopicPartitionOffset,
  createKafkaClient,
} from '@granary/kafka';
import { cliErrors } from './errors.ts';

export type { GroupState, PartitionBounds, PartitionRange };

export class KafkaTools {
  private readonly client;
  private readonly rangeReader: RangeReader;
  private connectedAdmin: Promise<TopicAdmin> | undefined;

  constructor(config: { brokers: string[]; clientId: string }) {
    this.client = createKafkaClient(config);
    this.rangeReader = this.client.createRangeReader();
  }

  private admin(): Promise<TopicAdmin> {
    this.connectedAdmin ??= (async () => {
      const admin = this.client.createAdmin();
      await admin.connect();
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
    return (await (await this.admin()).existingTopics([topic])).has(topic);
  }

  async requireTopic(topic: string): Promise<void> {
    if (!(await this.topicExists(topic))) throw cliErrors('CLI_TOPIC_NOT_FOUND', topic);
  }

  /** Low and high offsets of every partition, in partition order. */
  async partitionBounds(topic: string): Promise<PartitionBounds[]> {
    await this.requireTopic(topic);
    return (await this.admin()).offsetBounds(topic);
  }

  /** Per partition, the first offset whose record timestamp is at or after `epochMs` (the end offset if none). */
  async offsetsAtTime(topic: string, epochMs: number): Promise<Map<number, string>> {
    await this.requireTopic(topic);
    const offsets = await (await this.admin()).offsetsAtTime(topic, epochMs);
    return new Map(offsets.map(({ partition, offset }) => [partition, offset]));
  }

  async listGroups(): Promise<string[]> {
    return (await this.admin()).listGroups();
  }

  async describeGroup(groupId: string): Promise<GroupState> {
    return (await this.admin()).describeGroup(groupId);
  }

  /** Committed offsets of `groupId` on every topic it has committed to (or only `topic`). */
  async committedOffsets(groupId: string, topic?: string): Promise<TopicPartitionOffset[]> {
    return (await this.admin()).committedOffsets(groupId, topic);
  }

  /** Commit `offsets` for an inactive group (the caller checks that it is inactive). */
  async setOffsets(
    groupId: string,
    topic: string,
    offsets: readonly { partition: number; offset: string }[],
  ): Promise<void> {
    await (await this.admin()).setOffsets(groupId, topic, offsets);
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
