import { GranaryError } from '@granary/errors';
import type { Logger } from '@granary/observability';
import type { RebuildRequest, RebuildStatus } from './rebuild-protocol.ts';
import type { RebuildInProgress } from './status-protocol.ts';

/** Rebuild ids remembered for duplicate requests; a client re-publishes for minutes, not days. */
const REMEMBERED_REQUESTS = 1000;

/**
 * Takes rebuild requests for this processor: runs those of the partitions it owns, one at a time
 * per request id, and reports their status. A request it already knows (the client re-publishes
 * until it hears back) gets its status again instead of a second run.
 */
/** What the desk needs of the processor (`@granary/processing`'s `Processor`). */
export interface RebuildOwner {
  /** Defined while this processor owns `partition`. */
  partition(partition: number): unknown;
  /** The rebuilt state's checkpoint, or undefined when the partition was lost meanwhile. */
  rebuild(
    partition: number,
    metricId: string,
    fromOffset: number,
  ): Promise<{ records: number; offset: number } | undefined>;
}

export class RebuildDesk {
  private readonly statuses = new Map<string, RebuildStatus>();
  private readonly running = new Map<string, RebuildInProgress>();

  constructor(
    private readonly processor: RebuildOwner,
    private readonly publish: (status: RebuildStatus) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  async handle(request: RebuildRequest): Promise<void> {
    const known = this.statuses.get(request.id);
    if (known) return this.publish(known);
    // Another processor owns it, or none yet: the client keeps asking until an owner answers.
    if (!this.processor.partition(request.partition)) return;
    const { id, metricId, partition, fromOffset } = request;
    await this.report({ id, metricId, partition, state: 'accepted' });
    const started = Date.now();
    this.running.set(id, { metricId, partition, phase: 'accepted', since: started });
    try {
      const result = await this.processor.rebuild(partition, metricId, fromOffset);
      this.running.delete(id);
      if (!result) {
        // Lost the partition meanwhile: forget it, so the request runs on whoever asks next.
        this.statuses.delete(id);
        return;
      }
      this.logger.info(
        { metricId, partition, fromOffset, ...result, seconds: (Date.now() - started) / 1000 },
        'metric rebuilt',
      );
      await this.report({ id, metricId, partition, state: 'done', ...result });
    } catch (err) {
      this.running.delete(id);
      this.logger.error({ err, metricId, partition, fromOffset }, 'metric rebuild failed');
      // Coded errors of any lib keep their code; anything else is a bug, reported as such.
      const code = err instanceof GranaryError ? err.code : 'UNKNOWN';
      const message = err instanceof Error ? err.message : String(err);
      await this.report({ id, metricId, partition, state: 'failed', error: { code, message } });
    }
  }

  /** The rebuilds accepted and not yet done or failed, oldest first (for the member status). */
  inProgress(): RebuildInProgress[] {
    return [...this.running.values()];
  }

  private async report(status: RebuildStatus): Promise<void> {
    this.statuses.delete(status.id);
    this.statuses.set(status.id, status);
    for (const id of this.statuses.keys()) {
      if (this.statuses.size <= REMEMBERED_REQUESTS) break;
      this.statuses.delete(id);
    }
    await this.publish(status);
  }
}
