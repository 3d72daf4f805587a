import type { Streams } from '../src/output.ts';

/** Streams that keep what the CLI wrote, for assertions. */
export function captureStreams(): Streams & { out(): string; err(): string } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout: { write: (text: string) => stdout.push(text) },
    stderr: { write: (text: string) => stderr.push(text), isTTY: false },
    out: () => stdout.join(''),
    err: () => stderr.join(''),
  };
}
