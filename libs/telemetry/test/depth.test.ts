import { describe, expect, it } from 'vitest';
import { MAX_METADATA_DEPTH, assertBoundedDepth, computeSignature, telemetryErrors } from '../index.ts';

/** `{"a": {"a": ... {}}}`, `levels` objects deep, built without recursion. */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

describe('metadata depth', () => {
  it('accepts the deepest allowed value and refuses one level more with a code', () => {
    expect(() => assertBoundedDepth(nested(MAX_METADATA_DEPTH), 'metadata')).not.toThrow();
    expect(() => assertBoundedDepth([[1, [2]], { a: 'b' }], 'metadata', 3)).not.toThrow();
    expect(() => assertBoundedDepth(nested(MAX_METADATA_DEPTH + 1), 'metadata')).toThrow(
      expect.objectContaining({ code: 'TELEMETRY_TOO_DEEP' }),
    );
    expect(() => assertBoundedDepth([[[[]]]], 'metadata', 3)).toThrow(/deeper than 3 levels/);
  });

  it('walks 100,000 levels without overflowing the stack', () => {
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => assertBoundedDepth(deep, 'metadata')).toThrow(
      expect.objectContaining({ code: 'TELEMETRY_TOO_DEEP' }),
    );
  });

  it('refuses a too-deep message before signing recurses into it', () => {
    const message = { counter_name: 'cpu', resource_metadata: nested(5_000) } as never;
    let thrown: unknown;
    try {
      computeSignature(message, 'secret');
    } catch (error) {
      thrown = error;
    }
    expect(telemetryErrors.is(thrown, 'TELEMETRY_TOO_DEEP')).toBe(true);
  });
});
