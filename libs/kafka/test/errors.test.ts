import { GranaryError } from '@granary/errors';
import { describe, expect, it } from 'vitest';
import { kafkaErrors } from '../index.ts';
import { translated } from '../src/kafkajs/errors.ts';

/** A kafkajs error as it reaches callers: a name and kafkajs's own retriable flag. */
function kafkajsError(name: string, retriable: boolean): Error {
  return Object.assign(new Error('broker said no'), { name, retriable });
}

async function codeOf(cause: unknown): Promise<string> {
  const failure = await translated('list topics', () => Promise.reject(cause)).catch(
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(GranaryError);
  return (failure as GranaryError).code;
}

describe('kafkajs failures as coded errors', () => {
  it('reads exhausted retries and broker timeouts as an unreachable cluster, though kafkajs calls them final', async () => {
    // kafkajs gives up with NumberOfRetriesExceeded (retriable: false) when the brokers are down.
    expect(await codeOf(kafkajsError('KafkaJSNumberOfRetriesExceeded', false))).toBe('KAFKA_UNAVAILABLE');
    expect(await codeOf(kafkajsError('KafkaJSConnectionError', false))).toBe('KAFKA_UNAVAILABLE');
  });

  it("keeps kafkajs's retriable flag, and refusals as refusals", async () => {
    expect(await codeOf(kafkajsError('KafkaJSProtocolError', true))).toBe('KAFKA_UNAVAILABLE');
    expect(await codeOf(kafkajsError('KafkaJSProtocolError', false))).toBe('KAFKA_REQUEST_FAILED');
  });

  it('passes coded errors through unchanged', async () => {
    const coded = kafkaErrors('KAFKA_PRODUCER_CLOSED', 'closed');
    await expect(translated('x', () => Promise.reject(coded))).rejects.toBe(coded);
  });
});
