import { isRetriable } from '@granary/errors';
import { describe, expect, it } from 'vitest';
import { createIndex, indexError } from '../index.ts';
import { fromPgError } from '../src/errors.ts';

describe('pg error mapping', () => {
  it('connection failures are retriable 503s', async () => {
    // Port 1 on loopback refuses connections: no server needed.
    const index = createIndex({ databaseUrl: 'postgres://granary@127.0.0.1:1/granary' });
    const err = await index.archivePolicies.list().catch((e: unknown) => e);
    await index.close();
    expect(indexError.is(err, 'INDEX_UNAVAILABLE')).toBe(true);
    expect(err).toMatchObject({ status: 503, retriable: true });
    expect(isRetriable(err)).toBe(true);
  });

  it('maps SQLSTATEs: outages and serialization retriable, known constraints translated, the rest internal', () => {
    const code = (err: unknown) => (indexError.is(err) ? err.code : undefined);
    for (const sqlState of ['57P01', '53300', '08006', '40001', '40P01']) {
      expect(code(fromPgError({ code: sqlState, message: 'x' })), sqlState).toBe('INDEX_UNAVAILABLE');
    }
    const exists = indexError('INDEX_RESOURCE_ALREADY_EXISTS', 'r');
    const translate = (constraint: string) => (constraint === 'resource_pkey' ? exists : undefined);
    expect(fromPgError({ code: '23505', constraint: 'resource_pkey' }, translate)).toBe(exists);
    expect(code(fromPgError({ code: '23505', constraint: 'other_key' }, translate))).toBe('INDEX_INTERNAL');
    expect(code(fromPgError({ code: '42601', message: 'syntax error' }))).toBe('INDEX_INTERNAL');
    expect(fromPgError(exists)).toBe(exists);
  });
});
