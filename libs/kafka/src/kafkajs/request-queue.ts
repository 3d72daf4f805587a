import { createRequire } from 'node:module';

/** The part of kafkajs 2.2.4's per-connection RequestQueue (src/network/requestQueue) this file touches. */
export interface KafkajsRequestQueue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** kafkajs' own retry interval for a queue that has pending requests but is not throttled. */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

/** kafkajs 2.2.4's RequestQueue class; not exported by its index, so loaded from its file. */
export function kafkajsRequestQueueClass(): { prototype: KafkajsRequestQueue } {
  return createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js');
}

/**
 * kafkajs 2.2.4 checks its pending requests again after every response, and with none pending and
 * no throttling it schedules that check `-1 - Date.now()` ms ahead, which node runs after 1 ms:
 * every connection then wakes the process 1000 times a second for as long as it is open (issue 17:
 * most of an idle processor's CPU). The check is scheduled here only while requests are waiting;
 * a request that cannot be sent at once is pushed as pending and schedules it itself.
 */
function scheduleCheckOnlyWhilePending(this: KafkajsRequestQueue): void {
  if (this.throttleCheckTimeoutId !== null || this.pending.length === 0) return;
  const throttledForMs = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    throttledForMs > 0 ? throttledForMs : CHECK_PENDING_REQUESTS_INTERVAL_MS,
  );
}

/** Replaces kafkajs' busy check (above) in every RequestQueue of the process; idempotent (docs/adr/0026). */
export function stopIdleRequestQueuePolling(): void {
  kafkajsRequestQueueClass().prototype.scheduleCheckPendingRequests = scheduleCheckOnlyWhilePending;
}
