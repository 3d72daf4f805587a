import { type ConsumedRecord, partitionFor, toDeadLetter } from '@granary/kafka';
import { schemaErrors } from '@granary/schema';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaTools } from '../src/kafka-tools.ts';
import {
  cliEnv,
  createTopics,
  deleteTopics,
  granary,
  produce,
  topicSpec,
  uniqueName,
} from './integration.ts';

afterAll(() => deleteTopics());

const SOURCE_PARTITIONS = 3;

async function readAll(topic: string): Promise<ConsumedRecord[]> {
  const tools = new KafkaTools({
    brokers: cliEnv().KAFKA_BROKERS!.split(','),
    clientId: 'granary-cli-tests',
  });
  try {
    const records: ConsumedRecord[] = [];
    const ranges = (await tools.partitionBounds(topic)).map(({ partition, low, high }) => ({
      partition,
      start: low,
      end: high,
    }));
    await tools.readRanges(topic, ranges, async (batch) => {
      records.push(...batch);
      return undefined;
    });
    return records;
  } finally {
    await tools.close();
  }
}

describe('granary dlq', () => {
  it('shows dead letters with their error and redrives them to the source topic with the original key and bytes', async () => {
    const source = uniqueName('samples');
    const dlq = `${source}.dlq`;
    await createTopics(topicSpec(source, SOURCE_PARTITIONS), topicSpec(dlq, 2));
    const key = 'resource-42';
    const failed: ConsumedRecord = {
      topic: source,
      partition: partitionFor(key, SOURCE_PARTITIONS),
      offset: '17',
      key: Buffer.from(key),
      value: Buffer.from([0, 0, 0, 0, 99, 1, 2, 3, 255]),
      headers: { traceparent: Buffer.from('00-trace-01') },
      timestamp: '1767268800000',
    };
    await produce([
      toDeadLetter(failed, schemaErrors('SCHEMA_UNKNOWN_SCHEMA_ID', 'schema id 99')),
      toDeadLetter({ ...failed, key: Buffer.from('other'), offset: '18' }, new Error('handler bug')),
    ]);

    const shown = await granary(['dlq', 'show', dlq, '--json', '--error-code', 'SCHEMA_UNKNOWN_SCHEMA_ID']);
    expect(shown.code).toBe(0);
    const letters = shown.out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      topic: dlq,
      key,
      headers: { traceparent: '00-trace-01' },
      error: { code: 'SCHEMA_REGISTRY_MISMATCH' },
      deadLetter: {
        errorCode: 'SCHEMA_UNKNOWN_SCHEMA_ID',
        errorMessage: 'Record names a schema id the registry does not know: schema id 99',
        sourceTopic: source,
        sourcePartition: failed.partition,
        sourceOffset: '17',
      },
    });

    const dryRun = await granary(['dlq', 'redrive', dlq, '--key', key, '--dry-run']);
    expect(dryRun.code).toBe(0);
    expect(dryRun.out).toContain(`would redrive ${dlq}[`);
    expect(await readAll(source)).toEqual([]);

    const redrive = await granary(['dlq', 'redrive', dlq, '--key', key, '--json']);
    expect(redrive.code).toBe(0);
    expect(JSON.parse(redrive.out).topics[0].redriven).toEqual([
      {
        from: { topic: dlq, partition: expect.any(Number), offset: expect.any(String) },
        to: source,
        key,
        errorCode: 'SCHEMA_UNKNOWN_SCHEMA_ID',
      },
    ]);
    const back = await readAll(source);
    expect(back).toHaveLength(1);
    expect(back[0]).toMatchObject({
      partition: failed.partition,
      key: failed.key,
      value: failed.value,
      headers: failed.headers,
    });
  });
});
