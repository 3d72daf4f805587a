import type { TopicPartitionOffset } from '@granary/kafka';
import type { Logger } from '@granary/observability';

/** Step 4 of the checkpoint protocol: the consumer group's offsets (a `BatchConsumer` in manual commit mode). */
export interface OffsetCommitter {
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
}

/** Step 5: the watermark that refresh requests wait on (`ProcessorRedis` of @granary/coordination). */
export interface WatermarkPublisher {
  publishWatermark(partition: number, offset: number): Promise<void>;
}

/**
 * What a checkpoint does once its manifest is written. `publish` never rejects: it answers false
 * when the checkpoint is stored but not published, and the partition's next checkpoint publishes
 * again, even one with nothing new to write.
 */
export interface CheckpointPublication {
  publish(partition: number, offset: number): Promise<boolean>;
}

/** For a processor outside any consumer group (replay, tools): nothing to commit or announce. */
export const NO_PUBLICATION: CheckpointPublication = { publish: async () => true };

export interface PublicationDeps {
  readonly topic: string;
  readonly offsets: OffsetCommitter;
  readonly watermarks: WatermarkPublisher;
  /** Counts publications that failed (`watermarkFailures` of ProcessingInstruments). */
  readonly failures: { inc(): void };
  readonly logger: Logger;
}

/**
 * Steps 4 and 5, in the order of docs/adr/0010-processor-fencing.md: commit the Kafka offset, then
 * raise the Redis watermark. The manifest is already the truth, so a failure here costs lag figures
 * and freshness, not data: it is counted and logged, never fatal.
 */
export function checkpointPublication(deps: PublicationDeps): CheckpointPublication {
  const { topic, offsets, watermarks, failures, logger } = deps;
  return {
    publish: async (partition, offset) => {
      try {
        await offsets.commit([{ topic, partition, offset: String(offset) }]);
        await watermarks.publishWatermark(partition, offset);
        return true;
      } catch (err) {
        failures.inc();
        logger.warn({ err, partition, offset }, 'offset commit or watermark publication failed');
        return false;
      }
    },
  };
}
