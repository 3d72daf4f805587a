/**
 * Moments of the checkpoint protocol a crash test must be able to stop the process at. The app
 * maps a configured point and count to a SIGKILL of itself; everywhere else these are no-ops.
 */
export type CrashPoint = 'apply' | 'segment-write' | 'after-segment' | 'after-manifest' | 'compaction';

export const CRASH_POINTS: readonly CrashPoint[] = [
  'apply',
  'segment-write',
  'after-segment',
  'after-manifest',
  'compaction',
];

export interface FaultInjector {
  /** Called each time the process passes `point`. */
  hit(point: CrashPoint): void;
}

export const NO_FAULTS: FaultInjector = { hit: () => {} };

/** Calls `crash` the `after`-th time `point` is passed (1 = the first time). */
export function crashAfter(point: CrashPoint, after: number, crash: () => void): FaultInjector {
  let seen = 0;
  return {
    hit(passed) {
      if (passed === point && ++seen === after) crash();
    },
  };
}
