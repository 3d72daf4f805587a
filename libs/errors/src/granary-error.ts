/**
 * Every lib declares one closed list of error codes with `defineErrors`. A code carries the HTTP
 * status it surfaces as and whether retry logic may try again (the models are fastify's `FST_ERR_*`
 * and kafkajs's `retriable`). Callers branch on `code`, never on message text.
 */
export interface ErrorSpec {
  /** Human text; the detail given at the throw site is appended after a colon. */
  readonly message: string;
  /** HTTP status where the error reaches an API client. */
  readonly status: number;
  /** True when the same operation may succeed if tried again (timeouts, unavailable peers). */
  readonly retriable: boolean;
}

export class GranaryError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly status: number;
  readonly retriable: boolean;
  /** Structured context for logs and API error bodies; never needed to tell errors apart. */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: Code,
    spec: ErrorSpec,
    detail?: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(detail ? `${spec.message}: ${detail}` : spec.message, { cause: options?.cause });
    this.name = 'GranaryError';
    this.code = code;
    this.status = spec.status;
    this.retriable = spec.retriable;
    this.details = options?.details;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, status: this.status, retriable: this.retriable };
  }
}

export type ErrorFactory<Code extends string> = ((
  code: Code,
  detail?: string,
  options?: { cause?: unknown; details?: Record<string, unknown> },
) => GranaryError<Code>) & {
  readonly codes: readonly Code[];
  /** True when `err` is one of this list's errors (optionally of one code). */
  is(err: unknown, code?: Code): err is GranaryError<Code>;
};

/** Declare a lib's closed list of errors; codes are prefixed by convention (`CARBONARA_…`). */
export function defineErrors<const Specs extends Record<string, ErrorSpec>>(
  specs: Specs,
): ErrorFactory<keyof Specs & string> {
  type Code = keyof Specs & string;
  const create = (
    code: Code,
    detail?: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ): GranaryError<Code> => new GranaryError(code, specs[code] as ErrorSpec, detail, options);
  const codes = Object.keys(specs) as Code[];
  const is = (err: unknown, code?: Code): err is GranaryError<Code> =>
    err instanceof GranaryError &&
    codes.includes(err.code as Code) &&
    (code === undefined || err.code === code);
  return Object.assign(create, { codes, is });
}

/** True for errors a retry loop may try again: coded retriable errors and kafkajs-style `retriable`. */
export function isRetriable(err: unknown): boolean {
  if (err instanceof GranaryError) return err.retriable;
  return typeof err === 'object' && err !== null && (err as { retriable?: unknown }).retriable === true;
}

/** The `outcome` label of a failed operation's metrics: its code, or `unexpected` when it has none (a bug). */
export function failureOutcome(err: unknown): string {
  return err instanceof GranaryError ? err.code : 'unexpected';
}

/** Socket-level failures that say nothing about the request itself: the peer may answer later. */
const TRANSIENT_NETWORK_ERRNOS: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** True for a Node network error (by errno `code`) that a retry may get past. */
export function isTransientNetworkError(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && TRANSIENT_NETWORK_ERRNOS.has(code);
}
