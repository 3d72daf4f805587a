import { describe, expect, it } from 'vitest';
import {
  GranaryError,
  defineErrors,
  failureOutcome,
  isRetriable,
  isTransientNetworkError,
} from '../index.ts';

const fooErrors = defineErrors({
  FOO_TIMEOUT: { message: 'Timed out', status: 503, retriable: true },
  FOO_BAD_INPUT: { message: 'Bad input', status: 400, retriable: false },
});
const barErrors = defineErrors({ BAR_GONE: { message: 'Gone', status: 410, retriable: false } });

describe('defineErrors', () => {
  it('builds coded errors carrying status, retriable flag and the detail in the message', () => {
    const err = fooErrors('FOO_BAD_INPUT', 'value is NaN', { details: { field: 'value' } });
    expect(err).toBeInstanceOf(GranaryError);
    expect(err.code).toBe('FOO_BAD_INPUT');
    expect(err.status).toBe(400);
    expect(err.retriable).toBe(false);
    expect(err.message).toBe('Bad input: value is NaN');
    expect(err.details).toEqual({ field: 'value' });
  });

  it('tells its own errors from other lists', () => {
    const err = barErrors('BAR_GONE');
    expect(fooErrors.is(err)).toBe(false);
    expect(barErrors.is(err)).toBe(true);
    expect(barErrors.is(err, 'BAR_GONE')).toBe(true);
    expect(fooErrors.is(fooErrors('FOO_TIMEOUT'), 'FOO_BAD_INPUT')).toBe(false);
  });

  it('reads the retriable flag of coded and kafkajs-style errors', () => {
    expect(isRetriable(fooErrors('FOO_TIMEOUT'))).toBe(true);
    expect(isRetriable(fooErrors('FOO_BAD_INPUT'))).toBe(false);
    expect(isRetriable(Object.assign(new Error('x'), { retriable: true }))).toBe(true);
    expect(isRetriable(new Error('plain'))).toBe(false);
  });
});

describe('failureOutcome', () => {
  it("is a coded error's code, and one label for every failure without a code", () => {
    expect(failureOutcome(barErrors('BAR_GONE'))).toBe('BAR_GONE');
    expect(failureOutcome(new TypeError('x is undefined'))).toBe('unexpected');
    expect(failureOutcome(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe('unexpected');
  });
});

describe('isTransientNetworkError', () => {
  it('recognises socket failures by errno code and nothing else', () => {
    expect(isTransientNetworkError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isTransientNetworkError(Object.assign(new Error('dns'), { code: 'EAI_AGAIN' }))).toBe(true);
    expect(isTransientNetworkError(Object.assign(new Error('unique'), { code: '23505' }))).toBe(false);
    expect(isTransientNetworkError(new Error('plain'))).toBe(false);
    expect(isTransientNetworkError(undefined)).toBe(false);
  });
});
