// Pure shaping of API answers for display and plotting (unit-tested without a browser).

/**
 * Gnocchi measures `[[timestamp, granularity, value], …]` of several series, aligned on the union
 * of their timestamps as uPlot wants them: `[xs in epoch seconds, ys of series 1, …]`, a series
 * without a point at some x holding null there (uPlot leaves a gap).
 * @param {Array<Array<[string, number, number|null]>>} seriesList
 * @returns {Array<Array<number|null>>}
 */
export function alignSeries(seriesList) {
  const byTime = seriesList.map((measures) => {
    const values = new Map();
    for (const [timestamp, , value] of measures) values.set(Date.parse(timestamp) / 1000, value);
    return values;
  });
  const xs = [...new Set(byTime.flatMap((values) => [...values.keys()]))].sort((a, b) => a - b);
  return [xs, ...byTime.map((values) => xs.map((x) => (values.has(x) ? values.get(x) : null)))];
}

/**
 * The series in a `/v1/aggregates` answer, whatever its nesting (`measures` → `aggregated`, or
 * metric id → aggregation, or resource id → metric name → aggregation), labelled by their path.
 * @param {unknown} body
 * @returns {Array<{ label: string, measures: Array<[string, number, number|null]> }>}
 */
export function aggregatesSeries(body) {
  /** @type {Array<{ label: string, measures: Array<[string, number, number|null]> }>} */
  const found = [];
  /** @param {unknown} node @param {string[]} path */
  const walk = (node, path) => {
    if (Array.isArray(node)) {
      found.push({ label: path.join(' / ') || 'result', measures: /** @type {any} */ (node) });
      return;
    }
    if (node === null || typeof node !== 'object') return;
    for (const [key, child] of Object.entries(node)) walk(child, [...path, key]);
  };
  const measures = body && typeof body === 'object' && 'measures' in body ? body.measures : body;
  walk(measures, []);
  return found;
}

/**
 * How an attribute value reads in a table cell: text as it is, everything else as JSON.
 * @param {unknown} value
 */
export function cellText(value) {
  if (value === null || value === undefined) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * One row per partition of `/v1/status`: its owner (`—` when no processor holds it), lag and
 * checkpoint offset, sorted by partition number.
 * @param {any} status
 * @returns {Array<{ partition: number, owner: string, lag: number, checkpoint: string }>}
 */
export function partitionRows(status) {
  const statistics = status?.metricd?.statistics ?? {};
  const owners = statistics.partition_owners ?? {};
  const lags = status?.storage?.measures_to_process ?? {};
  const checkpoints = statistics.checkpoint_offsets ?? {};
  const partitions = new Set([...Object.keys(owners), ...Object.keys(checkpoints), ...Object.keys(lags)]);
  return [...partitions]
    .map(Number)
    .sort((a, b) => a - b)
    .map((partition) => ({
      partition,
      owner: owners[partition] ?? '—',
      lag: Number(lags[partition] ?? 0),
      checkpoint: cellText(checkpoints[partition]),
    }));
}

/**
 * A number for a table: integers as they are, others with up to 6 significant digits.
 * @param {number|null} value
 */
export function formatValue(value) {
  if (value === null || value === undefined) return '—';
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(6)));
}
