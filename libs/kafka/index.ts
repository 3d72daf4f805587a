/** Public surface of @granary/kafka. */
export {
  DEAD_LETTER_HEADERS,
  deadLetterTopicFor,
  errorCodeOf,
  handleEachRecord,
  readDeadLetter,
  toDeadLetter,
} from './src/dead-letter.ts';
export type { DeadLetterInfo, EachRecordOptions } from './src/dead-letter.ts';
export { kafkaErrors } from './src/errors.ts';
export { consumerGroupLag, consumerGroupLags, lagAfter, partitionLags, recordsBehind } from './src/lag.ts';
export type { GroupLag, PartitionLag } from './src/lag.ts';
export type { KafkaErrorCode } from './src/errors.ts';
export { createKafkaClient } from './src/kafkajs/client.ts';
export type { KafkaClientOptions } from './src/kafkajs/client.ts';
export { murmur2, partitionFor, toPositive } from './src/murmur2.ts';
export type {
  BatchConsumer,
  BatchHandler,
  ConsumerOptions,
  GroupState,
  KafkaClient,
  ObservedTopic,
  PartitionBounds,
  PartitionRange,
  RangeReader,
  RecordSender,
  TopicAdmin,
} from './src/ports.ts';
export { BatchingProducer } from './src/producer.ts';
export type { ProducerOptions } from './src/producer.ts';
export { nextOffset } from './src/records.ts';
export type {
  ConsumedRecord,
  OutgoingRecord,
  RecordBatch,
  TopicPartition,
  TopicPartitionOffset,
} from './src/records.ts';
export { DEFAULT_BACKOFF, backoffDelay, retryWithBackoff } from '@granary/errors';
export type { BackoffOptions } from '@granary/errors';
export {
  TopicSpecSchema,
  TopicsSection,
  provisionTopics,
  topicConfigEntries,
  withTopicAdmin,
} from './src/topics.ts';
export type { ProvisioningReport, TopicDrift, TopicSpec, TopicsConfig } from './src/topics.ts';
