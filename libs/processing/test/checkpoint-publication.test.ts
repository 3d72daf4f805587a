import type { TopicPartitionOffset } from '@granary/kafka';
import { createLogger } from '@granary/observability';
import { describe, expect, it } from 'vitest';
import { checkpointPublication } from '../index.ts';

const TOPIC = 'granary.measures';

/** Fakes of both ports writing to one journal, so the order between them shows. */
function ports(failing: { commit?: boolean; watermark?: boolean } = {}) {
  const journal: string[] = [];
  let failed = 0;
  const publication = checkpointPublication({
    topic: TOPIC,
    offsets: {
      commit: async (offsets: readonly TopicPartitionOffset[]) => {
        journal.push(`commit ${offsets.map((o) => `${o.topic}/${o.partition}@${o.offset}`).join(' ')}`);
        if (failing.commit) throw new Error('broker gone');
      },
    },
    watermarks: {
      publishWatermark: async (partition, offset) => {
        journal.push(`watermark ${partition}@${offset}`);
        if (failing.watermark) throw new Error('redis gone');
      },
    },
    failures: {
      inc: () => {
        failed++;
      },
    },
    logger: createLogger('publication-test', 'silent'),
  });
  return { publication, journal, failures: () => failed };
}

describe('checkpointPublication (steps 4–5 of the checkpoint)', () => {
  it('commits the offset of the partition, then raises its watermark', async () => {
    const { publication, journal, failures } = ports();
    expect(await publication.publish(7, 1234)).toBe(true);
    expect(journal).toEqual([`commit ${TOPIC}/7@1234`, 'watermark 7@1234']);
    expect(failures()).toBe(0);
  });

  it('a failed commit raises no watermark, is counted and answers false instead of rejecting', async () => {
    const { publication, journal, failures } = ports({ commit: true });
    expect(await publication.publish(2, 10)).toBe(false);
    expect(journal).toEqual([`commit ${TOPIC}/2@10`]);
    expect(failures()).toBe(1);
  });

  it('a failed watermark after a good commit is counted and answers false', async () => {
    const { publication, journal, failures } = ports({ watermark: true });
    expect(await publication.publish(2, 10)).toBe(false);
    expect(journal).toEqual([`commit ${TOPIC}/2@10`, 'watermark 2@10']);
    expect(failures()).toBe(1);
  });
});
