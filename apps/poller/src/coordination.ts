import { type BatchConsumer, type KafkaClient, partitionFor } from '@granary/kafka';
import type { Logger } from '@granary/observability';

/**
 * Which shared resources this replica polls: those whose murmur2 partition (as Kafka would place
 * the resource as a key) is among the coordination topic partitions the group assigned to it.
 * Kafka's group protocol is the membership: a replica joining or dying moves partitions, with no
 * lock and no hash ring of our own.
 */
export class ResourceOwnership {
  private readonly owned = new Set<number>();

  constructor(readonly partitions: number) {}

  readonly owns = (resource: string): boolean => this.owned.has(partitionFor(resource, this.partitions));

  assign(partitions: readonly number[]): void {
    for (const partition of partitions) this.owned.add(partition);
  }

  revoke(partitions: readonly number[]): void {
    for (const partition of partitions) this.owned.delete(partition);
  }

  ownedPartitions(): number[] {
    return [...this.owned].sort((a, b) => a - b);
  }
}

export interface Coordination {
  ownership: ResourceOwnership;
  /** Resolves at the first assignment, or after `waitMs` when none came (more replicas than partitions). */
  firstAssignment: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Join the poller group on the coordination topic (which must exist, with `partitions` partitions
 * as the cluster has it, whatever the configuration says) and track the assignment.
 */
export function joinCoordination(
  client: KafkaClient,
  options: { groupId: string; topic: string; partitions: number; sessionTimeoutMs: number; logger: Logger },
): Coordination {
  const ownership = new ResourceOwnership(options.partitions);
  let assigned: () => void = () => {};
  const firstAssignment = new Promise<void>((resolve) => {
    assigned = resolve;
    setTimeout(resolve, options.sessionTimeoutMs).unref();
  });
  const consumer: BatchConsumer = client.createConsumer({
    groupId: options.groupId,
    topics: [options.topic],
    fromBeginning: false,
    sessionTimeoutMs: options.sessionTimeoutMs,
    onAssigned: (partitions) => {
      ownership.assign(partitions.map((p) => p.partition));
      options.logger.info(
        { partitions: ownership.ownedPartitions() },
        'polling the resources of these partitions',
      );
      assigned();
    },
    onRevoked: (partitions) => {
      ownership.revoke(partitions.map((p) => p.partition));
      options.logger.info({ partitions: ownership.ownedPartitions() }, 'partitions revoked');
    },
  });
  // The topic carries no records; the group membership is what matters.
  const running = consumer.run(async () => {});
  running.catch((error: unknown) => options.logger.error({ err: error }, 'coordination consumer stopped'));
  return {
    ownership,
    firstAssignment,
    stop: async () => {
      await consumer.stop();
      await running.catch(() => undefined);
    },
  };
}
