import { groupCpuSeconds } from '../proc.ts';

/** One of the two systems under test, as the workloads see it: its REST API and its processes. */
export interface BenchSystem {
  readonly name: 'Gnocchi' | 'Granary';
  readonly api: RestClient;
  /** Cumulative CPU seconds of the REST API's processes. */
  apiCpuSeconds(): number;
  /** Cumulative CPU seconds of the aggregation worker(s) (metricd or the processor), exited ones included. */
  workerCpuSeconds(): number;
  /** Stops the aggregation work; measures posted meanwhile wait in the backlog. */
  stopWorker(): Promise<void>;
  /** Starts it again; returns the CPU seconds it spent before it was ready (0 when it only resumed). */
  startWorker(): Promise<number>;
  /**
   * Waits until work the worker defers past `/v1/status` reaching 0 is done too (Granary: its
   * checkpoint segments folded into Gnocchi's split layout), so the CPU it costs is measured.
   */
  settle(): Promise<void>;
  /** What each figure's label notes about this system's setup. */
  readonly setup: string;
  stop(): Promise<void>;
}

/** Cumulative CPU of a process group whose members come and go (a worker stopped and started). */
export class CpuLedger {
  private retired = 0;
  constructor(private readonly pids: () => readonly number[]) {}
  seconds(): number {
    return this.retired + groupCpuSeconds(this.pids());
  }
  /** Called just before the group's processes exit: their CPU so far stays counted. */
  retire(): void {
    this.retired += groupCpuSeconds(this.pids());
  }
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A JSON client of Gnocchi's REST API v1 (either system's). */
export class RestClient {
  constructor(
    readonly url: string,
    private readonly headers: Record<string, string>,
  ) {}

  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    return RestClient.parse<T>(await this.exchange(method, path, body));
  }

  /**
   * The response body's bytes, once the last one has arrived: what a read's latency is timed to.
   * Decoding and parsing a year of measures (22 MB) costs this client 0.4–0.8 s, not the server.
   */
  async exchange(method: string, path: string, body?: unknown): Promise<Uint8Array> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: { ...this.headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      signal: AbortSignal.timeout(300_000),
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (!response.ok) {
      const text = new TextDecoder().decode(bytes.subarray(0, 500));
      throw new HttpError(response.status, `${method} ${path}: ${response.status} ${text}`);
    }
    return bytes;
  }

  static parse<T = unknown>(bytes: Uint8Array): T {
    return (bytes.length > 0 ? JSON.parse(new TextDecoder().decode(bytes)) : undefined) as T;
  }

  /**
   * Measures not yet aggregated, from `/v1/status` (Granary: records, one per metric per write).
   * Gnocchi answers 503 when its incoming files change while it counts them: asked again.
   */
  async backlog(): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        const status = await this.request<{ storage: { summary: { measures: number } } }>(
          'GET',
          '/v1/status?details=false',
        );
        return status.storage.summary.measures;
      } catch (error) {
        if (!(error instanceof HttpError && error.status === 503) || attempt === 10) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
}
