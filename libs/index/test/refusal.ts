import { indexError } from '../index.ts';

/** The index error a promise rejects with, reduced to what the API uses: code, status, description. */
export async function refusal(promise: Promise<unknown>) {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!indexError.is(err)) throw new Error(`expected an index error, got ${String(err)}`);
  return { code: err.code, status: err.status, description: err.details?.description };
}
