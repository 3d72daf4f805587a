import type { FigureKey, Measurement, PhaseCpu, Sizes, SystemResult } from './workloads.ts';

interface Row {
  key: FigureKey;
  label: string;
  unit: string;
  /** Lower is better (times, lag): the ratio is Gnocchi / Granary instead of Granary / Gnocchi. */
  lowerIsBetter?: boolean;
}

const rows = (sizes: Sizes): Row[] => {
  const n = sizes.streamMetrics.toLocaleString('en');
  const i = sizes.streamIntervals;
  const m60 = sizes.drain60Metrics.toLocaleString('en');
  const m1440 = sizes.drain1440Metrics.toLocaleString('en');
  return [
    {
      key: 'idle.worker',
      label: 'worker CPU while idle (metrics created, nothing posted), per minute',
      unit: 'CPU-s/min',
      lowerIsBetter: true,
    },
    {
      key: 'stream.worker',
      label: `steady stream, ${n} metrics × 1 measure × ${i} intervals, processed per worker CPU-second`,
      unit: 'measures/CPU-s',
    },
    {
      key: 'stream.system',
      label: 'steady stream, processed per CPU-second of API + worker',
      unit: 'measures/CPU-s',
    },
    {
      key: 'stream.lag',
      label: `steady stream, lag at the end of the last ${sizes.streamIntervalMs / 1000} s interval`,
      unit: 'measures',
      lowerIsBetter: true,
    },
    {
      key: 'stream.drainAfter',
      label: 'steady stream, time from then to no backlog',
      unit: 's',
      lowerIsBetter: true,
    },
    {
      key: 'stream.apiWrites',
      label: `steady stream, batch writes (${Math.min(1000, sizes.streamMetrics)} metrics × 1 measure) per API CPU-second`,
      unit: 'measures/CPU-s',
    },
    {
      key: 'drain60.worker',
      label: `backlog drain, medium, ${m60} metrics × 60 points, per worker CPU-second`,
      unit: 'measures/CPU-s',
    },
    {
      key: 'drain60.rate',
      label: `backlog drain, ${m60} × 60, measures per second (wall)`,
      unit: 'measures/s',
    },
    {
      key: 'drain60.apiWrites',
      label: `backlog posting, ${m60} × 60, per API CPU-second`,
      unit: 'measures/CPU-s',
    },
    {
      key: 'drain1440.worker',
      label: `backlog drain, medium, ${m1440} metrics × 1,440 points, per worker CPU-second`,
      unit: 'measures/CPU-s',
    },
    {
      key: 'drain1440.rate',
      label: `backlog drain, ${m1440} × 1,440, measures per second (wall)`,
      unit: 'measures/s',
    },
    {
      key: 'drain1440.apiWrites',
      label: `backlog posting, ${m1440} × 1,440, per API CPU-second`,
      unit: 'measures/CPU-s',
    },
    {
      key: 'read.year',
      label: 'GET one year of 1-minute points (525,600), p50 to the last byte',
      unit: 'ms',
      lowerIsBetter: true,
    },
    {
      key: 'read.aggregates',
      label: '`/v1/aggregates` mean over 100 metrics × 60 points, p50',
      unit: 'ms',
      lowerIsBetter: true,
    },
  ];
};

function format(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return value.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

function cell(measurement: Measurement | undefined, unit: string): string {
  if (measurement === undefined) return '—';
  const note = measurement.note ? `; ${measurement.note}` : '';
  return `${format(measurement.value)} ${unit} (load ${measurement.load}${note})`;
}

function ratio(row: Row, gnocchi: Measurement | undefined, granary: Measurement | undefined): string {
  if (gnocchi === undefined || granary === undefined) return '—';
  const [better, worse] = row.lowerIsBetter ? [gnocchi.value, granary.value] : [granary.value, gnocchi.value];
  if (worse === 0) return better === 0 ? '=' : '∞';
  return `${format(better / worse)}×`;
}

function phaseTable(name: string, phases: readonly PhaseCpu[]): string[] {
  return [
    `| ${name}: phase | wall s | worker CPU-s | API CPU-s | load average |`,
    '|---|---|---|---|---|',
    ...phases.map(
      (p) =>
        `| ${p.phase} | ${p.wallSeconds.toFixed(1)} | ${p.workerCpu.toFixed(2)} | ${p.apiCpu.toFixed(2)} | ${p.load} |`,
    ),
  ];
}

/** The issue 17 table (figure | Gnocchi | Granary | ratio) and the CPU of each process group per phase. */
export function renderReport(
  sizes: Sizes,
  setups: { gnocchi?: string; granary?: string },
  results: { gnocchi?: SystemResult; granary?: SystemResult },
  header: string,
): string {
  const lines = [
    header,
    '',
    `Gnocchi: ${setups.gnocchi ?? 'not run'}. Granary: ${setups.granary ?? 'not run'}.`,
    'Worker = metricd (every process) or the processor; API = uwsgi (master and workers) or the api app.',
    'Kafka, PostgreSQL and Redis are shared infrastructure and not counted. Ratio: how many times better Granary is.',
    '',
    '| figure | Gnocchi | Granary | ratio |',
    '|---|---|---|---|',
    ...rows(sizes).map((row) => {
      const gnocchi = results.gnocchi?.figures.get(row.key);
      const granary = results.granary?.figures.get(row.key);
      return `| ${row.label} | ${cell(gnocchi, row.unit)} | ${cell(granary, row.unit)} | ${ratio(row, gnocchi, granary)} |`;
    }),
    '',
  ];
  for (const [name, result] of [
    ['Gnocchi', results.gnocchi],
    ['Granary', results.granary],
  ] as const) {
    if (result) lines.push(...phaseTable(name, result.phases), '');
  }
  return lines.join('\n');
}
