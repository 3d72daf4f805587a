import type { BackoffOptions } from '@granary/errors';
import type { Instruments, Logger } from '@granary/observability';
import { Kafka, type LogEntry, logLevel } from 'kafkajs';
import { KafkaInstruments } from '../instruments.ts';
import type {
  BatchConsumer,
  ConsumerOptions,
  KafkaClient,
  RangeReader,
  RecordSender,
  TopicAdmin,
} from '../ports.ts';
import { KafkajsTopicAdmin } from './admin.ts';
import { KafkajsBatchConsumer } from './consumer.ts';
import { KafkajsRangeReader } from './range-reader.ts';
import { stopIdleRequestQueuePolling } from './request-queue.ts';
import { KafkajsSender } from './sender.ts';

export interface KafkaClientOptions {
  logger?: Logger;
  /** Retry of a failing batch handler when its error is retriable. */
  handlerBackoff?: Partial<BackoffOptions>;
  /**
   * Where its senders' requests and its consumers' batches are measured (`granary_kafka_*`);
   * unset: nowhere. One client per app should get them (the names are declared once).
   */
  instruments?: Instruments;
}

/** The Kafka client of Granary, over kafkajs (the `KafkaClient` interface keeps it swappable). */
export function createKafkaClient(
  config: { brokers: string[]; clientId: string },
  options: KafkaClientOptions = {},
): KafkaClient {
  stopIdleRequestQueuePolling();
  const kafka = new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => forwardLog(options.logger, entry),
  });
  const measures = options.instruments ? new KafkaInstruments(options.instruments) : undefined;
  return {
    createAdmin: (): TopicAdmin => new KafkajsTopicAdmin(kafka),
    createSender: (): RecordSender => {
      const sender = new KafkajsSender(kafka);
      return measures ? measures.measuredSender(sender) : sender;
    },
    createConsumer: (consumerOptions: ConsumerOptions): BatchConsumer => {
      const consumer = new KafkajsBatchConsumer(
        kafka,
        consumerOptions,
        options.handlerBackoff ?? {},
        options.logger,
      );
      return measures ? measures.measuredConsumer(consumer) : consumer;
    },
    createRangeReader: (): RangeReader => new KafkajsRangeReader(kafka),
  };
}

function forwardLog(logger: Logger | undefined, { namespace, level, log }: LogEntry): void {
  if (!logger) return;
  const { message, ...fields } = log;
  const context = { kafkajs: namespace, ...fields };
  if (level === logLevel.ERROR) logger.error(context, message);
  else if (level === logLevel.WARN) logger.warn(context, message);
  else if (level === logLevel.INFO) logger.info(context, message);
  else logger.debug(context, message);
}
