import { coordinationErrors } from './errors.ts';
import type { RebuildLink } from './rebuild-link.ts';
import type { RebuildRequest, RebuildStatus } from './rebuild-protocol.ts';

/** How long to wait for the owner, and how often to ask again. */
export interface RebuildTimings {
  /** From the first request until some processor answers. */
  readonly acceptTimeoutMs: number;
  /** From `accepted` until `done` or `failed`. */
  readonly timeoutMs: number;
  /** Re-publication before an answer: a request published while the owner was not subscribed is lost. */
  readonly republishUntilAcceptedMs: number;
  /** Re-publication after it: an owner restarted meanwhile forgot the id and starts again. */
  readonly republishWhileRunningMs: number;
}

export const REPUBLISH_UNTIL_ACCEPTED_MS = 3_000;
export const REPUBLISH_WHILE_RUNNING_MS = 10_000;

/**
 * Ask the owner of the request's partition to rebuild, and wait for the outcome: the final status
 * (`done` or `failed`). The request is published again every few seconds until a status arrives
 * (requests are idempotent by id, so a repeat is harmless), and the stored status is read at each
 * publication in case a publication of the status was missed. Throws
 * COORDINATION_REBUILD_NOT_ACCEPTED when no processor answers within the accept timeout,
 * COORDINATION_REBUILD_TIMEOUT when the owner accepted but did not finish in time.
 */
export async function awaitRebuild(
  link: RebuildLink,
  request: RebuildRequest,
  timings: RebuildTimings,
  now: () => number = Date.now,
): Promise<RebuildStatus> {
  const listener = link.listen(request.id);
  try {
    const startedAt = now();
    let acceptedAt: number | undefined;
    let nextPublicationAt = startedAt;
    /** The final status, or undefined while the rebuild runs (or has not been accepted yet). */
    const absorb = (status: RebuildStatus | undefined): RebuildStatus | undefined => {
      if (status === undefined) return undefined;
      if (status.state !== 'accepted') return status;
      if (acceptedAt === undefined) {
        acceptedAt = now();
        nextPublicationAt = acceptedAt + timings.republishWhileRunningMs;
      }
      return undefined;
    };
    const deadline = () =>
      acceptedAt === undefined ? startedAt + timings.acceptTimeoutMs : acceptedAt + timings.timeoutMs;
    for (;;) {
      if (now() >= deadline()) throw overdue(request, acceptedAt === undefined, timings);
      if (now() >= nextPublicationAt) {
        await link.publish(request);
        nextPublicationAt =
          now() +
          (acceptedAt === undefined ? timings.republishUntilAcceptedMs : timings.republishWhileRunningMs);
        const final = absorb(await link.storedStatus(request.id));
        if (final) return final;
      }
      const final = absorb(await listener.next(Math.min(nextPublicationAt, deadline()) - now()));
      if (final) return final;
    }
  } finally {
    listener.close();
  }
}

function overdue(request: RebuildRequest, neverAccepted: boolean, timings: RebuildTimings) {
  const where = `partition ${request.partition} of ${request.topic}`;
  const details = { ...request };
  if (neverAccepted) {
    return coordinationErrors(
      'COORDINATION_REBUILD_NOT_ACCEPTED',
      `no processor owns ${where} (are processors running?)`,
      {
        details,
      },
    );
  }
  return coordinationErrors(
    'COORDINATION_REBUILD_TIMEOUT',
    `the owner of ${where} did not finish rebuilding ${request.metricId} within ${timings.timeoutMs / 1000} s`,
    { details },
  );
}
