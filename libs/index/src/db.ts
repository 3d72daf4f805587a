import pg from 'pg';
import { type IndexError, fromPgError } from './errors.ts';

/** Something that runs parameterised SQL: the pool, or a client inside a transaction. */
export interface Queryable {
  query<Row extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    params?: unknown[],
  ): Promise<pg.QueryResult<Row>>;
}

/** Maps the unique/foreign-key constraint a statement tripped to the error that explains it. */
export type ConstraintErrors = (constraint: string, sqlState: string) => IndexError | undefined;

const SERIALIZATION_RETRIES = 3;

export class Database {
  readonly pool: pg.Pool;

  constructor(databaseUrl: string, maxConnections: number) {
    this.pool = new pg.Pool({
      connectionString: databaseUrl,
      max: maxConnections,
      connectionTimeoutMillis: 10_000,
    });
    // An idle client losing its server must not crash the process; the next query reports it.
    this.pool.on('error', () => {});
  }

  async query<Row extends pg.QueryResultRow>(
    text: string,
    params: unknown[] = [],
    constraints?: ConstraintErrors,
  ): Promise<Row[]> {
    try {
      return (await this.pool.query<Row>(text, params)).rows;
    } catch (err) {
      throw fromPgError(err, constraints);
    }
  }

  /**
   * Runs `work` in one transaction; deadlocks and serialization failures are retried a few times
   * (the whole unit re-runs), other failures roll back and surface as index errors.
   */
  async transaction<T>(work: (tx: Queryable) => Promise<T>, constraints?: ConstraintErrors): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        throw fromPgError(err);
      }
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (err) {
        // The transaction's own error is the one to report; a connection that could not even roll
        // back is broken, so the pool destroys it (release with an error) instead of reusing it.
        const rollbackFailure = await client.query('ROLLBACK').then(
          () => undefined,
          (rollbackError: unknown) =>
            rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError)),
        );
        client.release(rollbackFailure);
        const sqlState = (err as { code?: string }).code;
        if ((sqlState === '40001' || sqlState === '40P01') && attempt < SERIALIZATION_RETRIES) continue;
        throw fromPgError(err, constraints);
      }
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** SQL turning a bigint of epoch µs (parameter or column) into timestamptz, exactly. */
export const microsToTimestamp = (sqlExpr: string): string => `granary_micros_to_timestamp(${sqlExpr})`;
/** SQL turning a timestamptz into epoch µs (bigint), exactly. */
export const timestampToMicros = (sqlExpr: string): string => `granary_timestamp_to_micros(${sqlExpr})`;

/** pg returns bigint as text; epoch µs fit a double exactly. */
export function micros(value: string | number | null): number | null {
  return value === null ? null : Number(value);
}
