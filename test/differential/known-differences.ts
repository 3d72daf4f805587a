import type { Difference } from './harness.ts';

/**
 * Differences from Gnocchi 4.7.1 that are understood and documented in docs/compatibility.md
 * ("Differences found by the differential test"), each under its id there. A difference that none
 * of these matches fails `make diff-gnocchi` and the integration test.
 */
const KNOWN: { id: string; matches(d: Difference): boolean }[] = [
  {
    // Granary's aggregates parser takes the resample period in seconds only; Gnocchi also parses
    // unit text through pytimeparse.
    id: 'aggregates-resample-unit-text',
    matches: (d) =>
      d.request.startsWith('POST /v1/aggregates') &&
      /"resample","[^"]+","\d+s"/.test(d.request) &&
      /^status 200 ≠ 400/.test(d.detail),
  },
];

/** The id of the documented difference `d` is an instance of, if any. */
export function knownDifference(d: Difference): string | undefined {
  return KNOWN.find((known) => known.matches(d))?.id;
}
