/** A service test/infra can find already running, or start and stop as a local process. */
export interface LocalService {
  readonly name: string;
  /** The value written to `.granary/infra.env` for this service. */
  readonly endpoint: string;
  /** True when something at the endpoint really answers the service's protocol. */
  answers(): Promise<boolean>;
  /** Start it (installing or downloading what it needs, cached) and wait until it answers. */
  start(stateDir: string): Promise<void>;
  /** Stop it if, and only if, test/infra started it. */
  stop(stateDir: string): Promise<void>;
}
