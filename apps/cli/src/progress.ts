/** Progress of a long operation on stderr: a redrawn bar on a terminal, periodic lines otherwise. */
export interface Progress {
  /** `count` more units are done. */
  advance(count: number): void;
  /** Final state; the bar's line is ended. */
  done(): void;
}

const REDRAW_INTERVAL_MS = 100;
const LINE_INTERVAL_MS = 5000;
const BAR_WIDTH = 30;

/** `label [#####-----]  50% 5/10`, or `label 5` when the total is unknown. */
export function renderProgress(label: string, done: number, total: number | undefined): string {
  if (total === undefined || total <= 0) return `${label} ${done}`;
  const ratio = Math.min(1, done / total);
  const filled = Math.round(ratio * BAR_WIDTH);
  const percent = `${Math.floor(ratio * 100)}%`.padStart(4);
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${percent} ${done}/${total}`;
}

const SILENT: Progress = { advance: () => {}, done: () => {} };

export function createProgress(
  stream: { write(text: string): unknown; isTTY?: boolean } | undefined,
  label: string,
  total?: number,
  now: () => number = Date.now,
): Progress {
  if (!stream) return SILENT;
  const terminal = stream.isTTY === true;
  let done = 0;
  let lastDrawn = Number.NEGATIVE_INFINITY;
  const draw = () => {
    lastDrawn = now();
    const text = renderProgress(label, done, total);
    stream.write(terminal ? `\r${text}\x1b[K` : `${text}\n`);
  };
  return {
    advance(count) {
      done += count;
      if (now() - lastDrawn >= (terminal ? REDRAW_INTERVAL_MS : LINE_INTERVAL_MS)) draw();
    },
    done() {
      draw();
      if (terminal) stream.write('\n');
    },
  };
}
