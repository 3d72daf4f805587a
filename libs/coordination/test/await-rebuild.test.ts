import { describe, expect, it } from 'vitest';
import {
  type RebuildLink,
  type RebuildRequest,
  type RebuildStatus,
  type StatusListener,
  awaitRebuild,
  coordinationErrors,
} from '../index.ts';

const request: RebuildRequest = {
  id: 'request-1',
  topic: 'granary.measures',
  partition: 3,
  metricId: 'metric-1',
  fromOffset: 120,
};
const TIMINGS = {
  acceptTimeoutMs: 15_000,
  timeoutMs: 600_000,
  republishUntilAcceptedMs: 3_000,
  republishWhileRunningMs: 10_000,
};
const status = (state: RebuildStatus['state'], extra: Partial<RebuildStatus> = {}): RebuildStatus => ({
  id: request.id,
  metricId: request.metricId,
  partition: request.partition,
  state,
  ...extra,
});

interface OwnerEvent {
  /** Fake time the owner published and stored the status. */
  at: number;
  status: RebuildStatus;
  /** False when the publication was missed (e.g. the subscriber was reconnecting): only stored. */
  heard?: boolean;
}

/**
 * An owner scripted over a fake clock. Waiting for a status moves the clock to the next heard
 * event, or by the whole wait; the stored status is the latest event at the current time.
 */
class ScriptedLink implements RebuildLink {
  time = 0;
  readonly publications: number[] = [];
  private readonly delivered = new Set<OwnerEvent>();

  constructor(private readonly events: OwnerEvent[]) {}

  readonly now = () => this.time;

  listen(): StatusListener {
    return {
      next: async (waitMs) => {
        expect(waitMs).toBeGreaterThanOrEqual(0);
        const until = this.time + waitMs;
        const event = this.events.find((e) => e.heard !== false && !this.delivered.has(e) && e.at <= until);
        if (!event) {
          this.time = until;
          return undefined;
        }
        this.delivered.add(event);
        this.time = Math.max(this.time, event.at);
        return event.status;
      },
      close: () => {},
    };
  }

  async publish(published: RebuildRequest): Promise<void> {
    expect(published).toEqual(request);
    this.publications.push(this.time);
  }

  async storedStatus(id: string): Promise<RebuildStatus | undefined> {
    expect(id).toBe(request.id);
    return this.events.filter((e) => e.at <= this.time).at(-1)?.status;
  }
}

const wait = (link: ScriptedLink, timings = TIMINGS) => awaitRebuild(link, request, timings, link.now);

describe('awaitRebuild', () => {
  it('publishes once when the owner answers at once, and returns its final status', async () => {
    const done = status('done', { records: 40, offset: 900 });
    const link = new ScriptedLink([
      { at: 200, status: status('accepted') },
      { at: 5_000, status: done },
    ]);

    expect(await wait(link)).toEqual(done);
    expect(link.publications).toEqual([0]);
    expect(link.time).toBe(5_000);
  });

  it('publishes again every 3 s until accepted, then every 10 s while the owner works', async () => {
    const link = new ScriptedLink([
      { at: 7_000, status: status('accepted') },
      { at: 31_000, status: status('done', { records: 1, offset: 2 }) },
    ]);

    expect((await wait(link)).state).toBe('done');
    expect(link.publications).toEqual([0, 3_000, 6_000, 17_000, 27_000]);
  });

  it('reads the stored status at each publication, for statuses whose publication was missed', async () => {
    const link = new ScriptedLink([
      { at: 100, status: status('accepted'), heard: false },
      { at: 8_000, status: status('done', { records: 5, offset: 10 }), heard: false },
    ]);

    expect(await wait(link)).toEqual(status('done', { records: 5, offset: 10 }));
    // Accepted seen at the 3 s publication; done at the next, 10 s later.
    expect(link.publications).toEqual([0, 3_000, 13_000]);
  });

  it('returns a failed status with the owner’s error', async () => {
    const failed = status('failed', { error: { code: 'STORAGE_UNAVAILABLE', message: 'S3 down' } });
    const link = new ScriptedLink([
      { at: 10, status: status('accepted') },
      { at: 20, status: failed },
    ]);

    expect(await wait(link)).toEqual(failed);
  });

  it('gives up when no processor answers within the accept timeout', async () => {
    const link = new ScriptedLink([]);

    const error = await wait(link).catch((e: unknown) => e);

    expect(coordinationErrors.is(error, 'COORDINATION_REBUILD_NOT_ACCEPTED')).toBe(true);
    expect((error as Error).message).toContain(
      'no processor owns partition 3 of granary.measures (are processors running?)',
    );
    expect(link.time).toBe(15_000);
    expect(link.publications).toEqual([0, 3_000, 6_000, 9_000, 12_000]);
  });

  it('gives up when the owner accepted but does not finish in time, counting from the first acceptance', async () => {
    // A restarted owner accepts the re-published request again; the timeout still runs from 1 s.
    const link = new ScriptedLink([
      { at: 1_000, status: status('accepted') },
      { at: 12_000, status: status('accepted') },
    ]);

    const error = await wait(link, { ...TIMINGS, timeoutMs: 30_000 }).catch((e: unknown) => e);

    expect(coordinationErrors.is(error, 'COORDINATION_REBUILD_TIMEOUT')).toBe(true);
    expect(link.time).toBe(31_000);
    expect(link.publications).toEqual([0, 11_000, 21_000]);
  });
});
