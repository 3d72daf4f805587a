import type {
  ConsumedRecord,
  OutgoingRecord,
  RecordBatch,
  TopicPartition,
  TopicPartitionOffset,
} from './records.ts';
import type { TopicSpec } from './topics.ts';

/**
 * The small surface Granary needs from a Kafka client. `createKafkaClient` implements it over
 * kafkajs; another client (e.g. @platformatic/kafka) only has to implement these interfaces.
 */
export interface KafkaClient {
  createAdmin(): TopicAdmin;
  /** Raw sender: idempotent, acks=all. Wrap it in `BatchingProducer` for batching and back-pressure. */
  createSender(): RecordSender;
  createConsumer(options: ConsumerOptions): BatchConsumer;
  /** Reads exact offset ranges outside any group's offsets (dump, replay, rebuild). */
  createRangeReader(): RangeReader;
}

/** Offsets `start` (inclusive) to `end` (exclusive) of one partition, as int64 text. */
export interface PartitionRange {
  partition: number;
  start: string;
  end: string;
}

export interface RangeReader {
  /**
   * Hand every record of `ranges` to `onRecords`, batch by batch, in offset order within a
   * partition, until every range is read or `onRecords` answers 'stop'. A thrown error stops the
   * read and is rethrown.
   */
  readRanges(
    topic: string,
    ranges: readonly PartitionRange[],
    onRecords: (records: ConsumedRecord[]) => Promise<'stop' | undefined>,
  ): Promise<void>;
}

/** A topic as the cluster has it. `configs` holds the settings provisioning cares about. */
export interface ObservedTopic {
  name: string;
  partitions: number;
  replicationFactor: number;
  configs: Record<string, string | undefined>;
}

/** One partition's offsets as the broker has them, int64 text. */
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

/** The cluster's topics, consumer groups and their offsets, for services and the CLI alike. */
export interface TopicAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** The named topics that exist; missing ones are absent from the map. */
  describeTopics(names: readonly string[]): Promise<Map<string, ObservedTopic>>;
  /** Which of the named topics exist: one metadata request, no partitions or configs. */
  existingTopics(names: readonly string[]): Promise<Set<string>>;
  /** Create topics; one that appeared meanwhile (another process provisioning) is not an error. */
  createTopics(specs: readonly TopicSpec[]): Promise<void>;
  deleteTopics(names: readonly string[]): Promise<void>;
  /**
   * Set topic configuration entries. Kafka's AlterConfigs replaces the topic's whole dynamic
   * configuration, so the entries already set on the topic are sent along with the new ones.
   */
  alterTopicConfigs(topic: string, entries: Readonly<Record<string, string>>): Promise<void>;
  /** Offsets after the last record of every partition of `topic`. */
  endOffsets(topic: string): Promise<TopicPartitionOffset[]>;
  /** Low and high offsets of every partition of `topic`, in partition order. */
  offsetBounds(topic: string): Promise<PartitionBounds[]>;
  /** Per partition, the first offset whose record timestamp is at or after `epochMs` (the end offset if none). */
  offsetsAtTime(topic: string, epochMs: number): Promise<TopicPartitionOffset[]>;
  /** The consumer groups of the cluster (other protocol types left out), sorted. */
  listGroups(): Promise<string[]>;
  /** A group's state and member count ('Dead' with no member when it does not exist). */
  describeGroup(groupId: string): Promise<GroupState>;
  /**
   * Which member of `groupId` owns each partition of `topic` it was assigned ("<host> <member id>");
   * empty while the group is not stable (rebalancing, or no member).
   */
  partitionOwners(groupId: string, topic: string): Promise<Map<number, string>>;
  /** Committed offsets of `groupId` on `topic`, or on every topic it committed to ('-1' when none). */
  committedOffsets(groupId: string, topic?: string): Promise<TopicPartitionOffset[]>;
  /** Move the committed offsets of `groupId` on `topic`; Kafka refuses while the group has members. */
  setOffsets(
    groupId: string,
    topic: string,
    offsets: readonly { partition: number; offset: string }[],
  ): Promise<void>;
}

export interface RecordSender {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Send in one request per broker; resolves once every record is acknowledged by all in-sync replicas. */
  send(records: readonly OutgoingRecord[]): Promise<void>;
}

export interface ConsumerOptions {
  groupId: string;
  topics: readonly string[];
  /** Where a partition without a committed offset starts: earliest (default) or latest. */
  fromBeginning?: boolean;
  /**
   * `after-batch` (default) commits a batch's offsets once the handler resolved; `manual` leaves
   * every commit to the application (`commit()`), e.g. after a checkpoint.
   */
  commit?: 'after-batch' | 'manual';
  /** Called, and awaited before any batch is handled, when partitions are newly assigned. */
  onAssigned?: (partitions: TopicPartition[], consumer: BatchConsumer) => Promise<void> | void;
  /**
   * Called, and awaited, when partitions are taken away. At `stop()` it runs before the group is
   * left, while commits for those partitions are still valid. At a rebalance it runs once the new
   * assignment is known, which with kafkajs's eager protocol is after another member may already
   * own them: do not commit revoked partitions there, just drop their state.
   */
  onRevoked?: (partitions: TopicPartition[], consumer: BatchConsumer) => Promise<void> | void;
  /** Upper bound on bytes fetched per partition per request (default 1 MiB). */
  maxBytesPerPartition?: number;
  sessionTimeoutMs?: number;
}

export type BatchHandler = (batch: RecordBatch) => Promise<unknown>;

export interface BatchConsumer {
  /**
   * Join the group and hand every batch to `handler`, one at a time. Resolves when the consumer
   * stops; rejects if it crashes (a handler error that is not retriable, or retries spent), with
   * that batch's offsets left uncommitted.
   */
  run(handler: BatchHandler): Promise<void>;
  /** Commit next-to-read offsets for the group (manual mode, or to move ahead explicitly). */
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** Continue `topic`/`partition` at `offset`; a batch fetched before the seek is dropped. */
  seek(position: TopicPartitionOffset): void;
  /** Partitions currently owned. */
  assignment(): TopicPartition[];
  /** Finish the batch in hand, commit it, call `onRevoked` for everything owned, leave the group. */
  stop(): Promise<void>;
}
