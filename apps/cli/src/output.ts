import { type Progress, createProgress } from './progress.ts';

/** Where the CLI writes: results to stdout, diagnostics and progress to stderr. */
export interface Streams {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
}

export class Output {
  constructor(
    readonly streams: Streams,
    /** `--json`: results are JSON for scripts, and progress stays off. */
    readonly json: boolean,
  ) {}

  /** One result line on stdout (JSON lines commands write each record this way). */
  line(text: string): void {
    this.streams.stdout.write(`${text}\n`);
  }

  /** A note for the person at the terminal (never part of the result). */
  note(text: string): void {
    if (!this.json) this.streams.stderr.write(`${text}\n`);
  }

  progress(label: string, total?: number): Progress {
    return createProgress(this.json ? undefined : this.streams.stderr, label, total);
  }
}

/** Rows as left-aligned columns two spaces apart (the first row is usually the headings). */
export function textTable(rows: readonly (readonly string[])[]): string[] {
  const widths = (rows[0] ?? []).map((_, column) =>
    Math.max(...rows.map((row) => (row[column] ?? '').length)),
  );
  return rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}
