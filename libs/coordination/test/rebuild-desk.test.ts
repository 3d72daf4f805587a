import { createLogger } from '@granary/observability';
import { describe, expect, it } from 'vitest';
import { RebuildDesk, type RebuildRequest, type RebuildStatus, coordinationErrors } from '../index.ts';

const METRIC = '5a4b3c2d-0000-4000-8000-000000000001';
const request = (id: string, partition = 2): RebuildRequest => ({
  id,
  topic: 'granary.measures',
  partition,
  metricId: METRIC,
  fromOffset: 10,
});

/** A processor owning partition 2 whose rebuilds answer `outcome`. */
function deskWith(outcome: () => Promise<{ records: number; offset: number } | undefined>) {
  const runs: number[] = [];
  const published: RebuildStatus[] = [];
  const processor = {
    partition: (partition: number) => (partition === 2 ? ({} as never) : undefined),
    rebuild: async (partition: number) => {
      runs.push(partition);
      return outcome();
    },
  };
  const desk = new RebuildDesk(
    processor,
    async (status) => void published.push(status),
    createLogger('desk-test', 'silent'),
  );
  return { desk, runs, published };
}

describe('RebuildDesk', () => {
  it('runs a request of an owned partition once, reporting accepted then done, and repeats the status to duplicates', async () => {
    const { desk, runs, published } = deskWith(async () => ({ records: 7, offset: 120 }));
    await desk.handle(request('a'));
    await desk.handle(request('a'));
    expect(runs).toEqual([2]);
    expect(published.map((status) => status.state)).toEqual(['accepted', 'done', 'done']);
    expect(published[1]).toEqual({
      id: 'a',
      metricId: METRIC,
      partition: 2,
      state: 'done',
      records: 7,
      offset: 120,
    });
  });

  it('stays silent on partitions it does not own, and forgets a request whose partition it lost meanwhile', async () => {
    const { desk, runs, published } = deskWith(async () => undefined);
    await desk.handle(request('b', 5));
    expect(runs).toEqual([]);
    expect(published).toEqual([]);
    await desk.handle(request('c'));
    await desk.handle(request('c'));
    expect(runs).toEqual([2, 2]);
  });

  it('lists a rebuild as in progress from accepted until done or failed', async () => {
    let finish: (result: { records: number; offset: number }) => void = () => {};
    let fail: (error: Error) => void = () => {};
    const outcomes = [
      () =>
        new Promise<{ records: number; offset: number }>((resolve) => {
          finish = resolve;
        }),
      () =>
        new Promise<{ records: number; offset: number }>((_, reject) => {
          fail = reject;
        }),
    ];
    const { desk } = deskWith(() =>
      (outcomes.shift() as () => Promise<{ records: number; offset: number }>)(),
    );
    const running = desk.handle(request('d'));
    await new Promise((tick) => setTimeout(tick, 0));
    expect(desk.inProgress()).toEqual([
      { metricId: METRIC, partition: 2, phase: 'accepted', since: expect.any(Number) },
    ]);
    finish({ records: 1, offset: 2 });
    await running;
    expect(desk.inProgress()).toEqual([]);
    const failing = desk.handle(request('e'));
    await new Promise((tick) => setTimeout(tick, 0));
    expect(desk.inProgress()).toHaveLength(1);
    fail(new Error('boom'));
    await failing;
    expect(desk.inProgress()).toEqual([]);
  });

  it('reports a failure with its code, and keeps reporting it', async () => {
    const { desk, published } = deskWith(async () => {
      throw coordinationErrors('COORDINATION_UNAVAILABLE', 'lost Redis while rebuilding');
    });
    await desk.handle(request('d'));
    await desk.handle(request('d'));
    expect(published.map((status) => [status.state, status.error?.code])).toEqual([
      ['accepted', undefined],
      ['failed', 'COORDINATION_UNAVAILABLE'],
      ['failed', 'COORDINATION_UNAVAILABLE'],
    ]);
  });
});
