import { describe, expect, it } from 'vitest';
import { createProgress, renderProgress } from '../src/progress.ts';

describe('progress', () => {
  it('renders a bar with percentage and counts, or a count when the total is unknown', () => {
    expect(renderProgress('dump', 5, 10)).toBe(`dump [${'#'.repeat(15)}${'-'.repeat(15)}]  50% 5/10`);
    expect(renderProgress('dump', 10, 10)).toBe(`dump [${'#'.repeat(30)}] 100% 10/10`);
    expect(renderProgress('dump', 7, undefined)).toBe('dump 7');
  });

  it('redraws one line in place on a terminal, at most every 100 ms, and ends it', () => {
    const written: string[] = [];
    let now = 0;
    const progress = createProgress(
      { write: (t: string) => written.push(t), isTTY: true },
      'x',
      4,
      () => now,
    );
    progress.advance(1);
    now = 50;
    progress.advance(1);
    now = 150;
    progress.advance(1);
    progress.done();
    expect(written).toEqual([
      `\r${renderProgress('x', 1, 4)}\x1b[K`,
      `\r${renderProgress('x', 3, 4)}\x1b[K`,
      `\r${renderProgress('x', 3, 4)}\x1b[K`,
      '\n',
    ]);
  });

  it('writes plain lines at most every 5 s when stderr is not a terminal, and the final state', () => {
    const written: string[] = [];
    let now = 0;
    const progress = createProgress(
      { write: (t: string) => written.push(t), isTTY: false },
      'x',
      4,
      () => now,
    );
    progress.advance(1);
    now = 1000;
    progress.advance(1);
    now = 6000;
    progress.advance(2);
    progress.done();
    expect(written).toEqual([
      `${renderProgress('x', 1, 4)}\n`,
      `${renderProgress('x', 4, 4)}\n`,
      `${renderProgress('x', 4, 4)}\n`,
    ]);
  });
});
