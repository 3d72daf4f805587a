import { GranaryError, defineErrors } from '@granary/errors';

/**
 * The CLI's own failures. The HTTP-style status decides the exit code (`exitCodeFor`): 400 is a
 * usage error, 409 a refusal, anything else an operational failure.
 */
export const cliErrors = defineErrors({
  CLI_USAGE: { message: 'Invalid command line', status: 400, retriable: false },
  CLI_GROUP_ACTIVE: {
    message: 'Consumer group has active members; stop them before moving its offsets',
    status: 409,
    retriable: false,
  },
  CLI_NOT_LOCAL: {
    message: 'Refusing to reset endpoints that are not the local development ones (use --force)',
    status: 409,
    retriable: false,
  },
  CLI_LIVE_STORAGE: {
    message: 'Refusing to replay into the storage the processors use; give a fresh prefix',
    status: 409,
    retriable: false,
  },
  CLI_REPLAY_INCOMPLETE: {
    message: 'Replay lost partitions to a failed checkpoint; the target is incomplete',
    status: 500,
    retriable: true,
  },
  CLI_RESET_INCOMPLETE: {
    message: 'Development reset did not finish; run it again',
    status: 503,
    retriable: true,
  },
  CLI_METRIC_NOT_FOUND: { message: 'No such metric in the index', status: 404, retriable: false },
  CLI_METRIC_DELETED: {
    message: 'Refusing to rebuild a metric marked deleted (the janitor is removing its storage)',
    status: 409,
    retriable: false,
  },
  CLI_REBUILD_FAILED: { message: 'The owner reported the rebuild failed', status: 500, retriable: true },
  CLI_TOPIC_NOT_FOUND: { message: 'Topic does not exist', status: 404, retriable: false },
  CLI_API_UNREACHABLE: { message: 'The REST API is unreachable', status: 503, retriable: true },
  CLI_API_ERROR: { message: 'The REST API refused the request', status: 502, retriable: false },
  CLI_RESOURCE_NOT_FOUND: { message: 'No such resource', status: 404, retriable: false },
  CLI_RESOURCE_AMBIGUOUS: {
    message: 'Several resources have this original id; give the resource id',
    status: 409,
    retriable: false,
  },
  CLI_NOT_A_DEAD_LETTER: {
    message: 'Record carries no dead-letter headers, so its source is unknown',
    status: 409,
    retriable: false,
  },
});

export type CliErrorCode = (typeof cliErrors.codes)[number];

/** What the process exit status means; `granary --help` prints this list. */
export const EXIT_CODES = {
  ok: 0,
  /** Something failed while doing the work (unreachable service, bad record, …). */
  failure: 1,
  /** The command line is wrong; nothing was done. */
  usage: 2,
  /** The command was refused, or found a conflict it must not resolve itself; see the message. */
  refused: 3,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

export function exitCodeFor(error: unknown): ExitCode {
  if (cliErrors.is(error, 'CLI_USAGE')) return EXIT_CODES.usage;
  if (error instanceof GranaryError && error.status === 409) return EXIT_CODES.refused;
  return EXIT_CODES.failure;
}

/** The `--json` form of a failure: always `code` and `message`. */
export function errorAsJson(error: unknown): { code: string; message: string } {
  if (error instanceof GranaryError) return { code: error.code, message: error.message };
  return { code: 'CLI_UNEXPECTED', message: error instanceof Error ? error.message : String(error) };
}
