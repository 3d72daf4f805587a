import { describe, expect, it } from 'vitest';
import {
  encodeRefreshRequest,
  encodeWatermarkRaise,
  parseRefreshRequest,
  parseWatermarkRaise,
  watermarkChannel,
  watermarkKey,
} from '../index.ts';

describe('refresh requests', () => {
  it('round-trip, with the offset as decimal text, and malformed ones are refused', () => {
    const request = { topic: 'granary.measures', partition: 3, offset: 1234 };
    expect(JSON.parse(encodeRefreshRequest(request)).offset).toBe('1234');
    expect(parseRefreshRequest(encodeRefreshRequest(request))).toEqual(request);
    expect(parseRefreshRequest(encodeRefreshRequest({ topic: 't', partition: 0 }))).toEqual({
      topic: 't',
      partition: 0,
      offset: undefined,
    });
    for (const bad of [
      '',
      'nope',
      'null',
      '{}',
      '{"topic":"t","partition":-1}',
      '{"topic":"t","partition":1.5}',
      '{"topic":"t","partition":1,"offset":"x"}',
      '{"topic":"t","partition":1,"offset":"-2"}',
    ]) {
      expect(parseRefreshRequest(bad), bad).toBeUndefined();
    }
  });
});

describe('watermarks', () => {
  it('are keyed and published per topic', () => {
    expect(watermarkKey('granary.measures', 4)).toBe('granary:watermark:granary.measures:4');
    expect(watermarkChannel('granary.measures')).toBe('granary:watermark:granary.measures');
  });

  it('raises round-trip as <partition>:<offset>, and anything else is refused', () => {
    expect(encodeWatermarkRaise({ partition: 4, offset: 1_000 })).toBe('4:1000');
    expect(parseWatermarkRaise('4:1000')).toEqual({ partition: 4, offset: 1_000 });
    for (const message of ['', '4', '4:', ':5', '4:5:6', '-1:5', '4:x']) {
      expect(parseWatermarkRaise(message), message).toBeUndefined();
    }
  });
});
