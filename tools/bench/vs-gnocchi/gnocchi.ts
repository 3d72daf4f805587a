import { freePort } from '../../build/isolated-app.ts';
import { startGnocchi } from '../../gnocchi-oracle/oracle.ts';
import { groupCpuSeconds } from '../proc.ts';
import { type BenchSystem, RestClient } from './system.ts';

/** As in issue 17's measurement: uwsgi 2 processes × 2 threads, 1 metricd worker. */
const API_WORKERS = 2;
const API_THREADS = 2;
const METRICD_WORKERS = 1;
/** metricd's pass every 5 s, as often as Granary's processor checkpoints by default. */
const METRIC_PROCESSING_DELAY_S = 5;
/** Gnocchi's basic auth takes the user name and ignores the password. */
const BASIC_AUTH = `Basic ${Buffer.from('admin:granary').toString('base64')}`;

/** Gnocchi 4.7.1 from PyPI (tools/gnocchi-oracle): its own database, file storage and incoming. */
export async function startGnocchiSystem(stateDir: string): Promise<BenchSystem> {
  const oracle = await startGnocchi({
    stateDir,
    apiPort: await freePort(),
    apiWorkers: API_WORKERS,
    apiThreads: API_THREADS,
    metricdWorkers: METRICD_WORKERS,
    metricProcessingDelay: METRIC_PROCESSING_DELAY_S,
  });
  const signalWorker = (signal: NodeJS.Signals) => {
    for (const pid of oracle.metricdPids()) process.kill(pid, signal);
  };
  return {
    name: 'Gnocchi',
    api: new RestClient(oracle.url, { authorization: BASIC_AUTH }),
    setup:
      `4.7.1 from PyPI, uwsgi ${API_WORKERS} processes × ${API_THREADS} threads, ${METRICD_WORKERS} metricd worker ` +
      `(metric_processing_delay ${METRIC_PROCESSING_DELAY_S} s; stopped with SIGSTOP for the backlogs), file storage and incoming, PostgreSQL indexer`,
    apiCpuSeconds: () => groupCpuSeconds(oracle.apiPids()),
    workerCpuSeconds: () => groupCpuSeconds(oracle.metricdPids()),
    async stopWorker() {
      signalWorker('SIGSTOP');
    },
    async startWorker() {
      signalWorker('SIGCONT');
      return 0;
    },
    // metricd writes the split layout before the measures leave the incoming backlog.
    settle: async () => {},
    stop: () => oracle.stop(),
  };
}
