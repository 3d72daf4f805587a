import { randomUUID } from 'node:crypto';
import { unknownPolicy } from './archive-policies.ts';
import type { ArchivePolicyRules } from './archive-policies.ts';
import type { ArchivePolicy, ArchivePolicyItem } from './archive-policy-definition.ts';
import { type ConstraintErrors, type Database, type Queryable, micros, timestampToMicros } from './db.ts';
import { described, invalidInput } from './errors.ts';
import {
  type PageRequest,
  type SortExpression,
  afterMarkerCondition,
  invalidMarker,
  markerColumns,
  orderByClause,
  resolveSort,
  validateLimit,
} from './pagination.ts';
import type { EpochMicros } from './time.ts';
import { parseUuid } from './uuid.ts';

export type MetricStatus = 'active' | 'delete';

export interface Metric {
  id: string;
  name: string | null;
  unit: string | null;
  resourceId: string | null;
  creator: string | null;
  status: MetricStatus;
  archivePolicy: ArchivePolicy;
  lastMeasureTimestamp: EpochMicros | null;
  needsRawDataTruncation: boolean;
}

export interface MetricCreate {
  /** Defaults to a random UUID. */
  id?: string;
  name?: string | null;
  unit?: string | null;
  resourceId?: string | null;
  creator: string | null;
  /** When absent, archive policy rules pick one from the name (Gnocchi's behaviour). */
  archivePolicyName?: string;
}

export interface MetricListFilter {
  id?: string;
  name?: string;
  unit?: string;
  archivePolicyName?: string;
  creator?: string;
  createdByUserId?: string;
  createdByProjectId?: string;
  resourceId?: string;
  /** Defaults to active metrics only. */
  status?: MetricStatus;
  /**
   * Gnocchi's list policy filter for a non-admin: metrics created by this project OR attached to a
   * resource of this project (whichever is given; null stands for "no project").
   */
  visibleTo?: { createdByProject?: string | null; resourceProject?: string | null };
}

const METRIC_COLUMNS = `m.id, m.name, m.unit, m.resource_id, m.creator, m.status, m.needs_raw_data_truncation,
  ${timestampToMicros('m.last_measure_timestamp')} AS last_measure_timestamp,
  ap.name AS ap_name, ap.back_window AS ap_back_window, ap.definition AS ap_definition,
  ap.aggregation_methods AS ap_aggregation_methods`;
const METRIC_SOURCE = 'metric m JOIN archive_policy ap ON ap.name = m.archive_policy_name';

interface MetricRow {
  id: string;
  name: string | null;
  unit: string | null;
  resource_id: string | null;
  creator: string | null;
  status: MetricStatus;
  needs_raw_data_truncation: boolean;
  last_measure_timestamp: string | null;
  ap_name: string;
  ap_back_window: number;
  ap_definition: ArchivePolicyItem[];
  ap_aggregation_methods: string[];
}

const toMetric = (row: MetricRow): Metric => ({
  id: row.id,
  name: row.name,
  unit: row.unit,
  resourceId: row.resource_id,
  creator: row.creator,
  status: row.status,
  lastMeasureTimestamp: micros(row.last_measure_timestamp),
  needsRawDataTruncation: row.needs_raw_data_truncation,
  archivePolicy: {
    name: row.ap_name,
    backWindow: row.ap_back_window,
    definition: row.ap_definition,
    aggregationMethods: row.ap_aggregation_methods,
  },
});

const SORTABLE: Record<string, SortExpression> = {
  id: { sql: 'm.id', nullable: false },
  name: { sql: 'm.name', nullable: true },
  unit: { sql: 'm.unit', nullable: true },
  archive_policy_name: { sql: 'm.archive_policy_name', nullable: false },
  creator: { sql: 'm.creator', nullable: true },
  resource_id: { sql: 'm.resource_id', nullable: true },
  status: { sql: 'm.status', nullable: false },
  last_measure_timestamp: { sql: 'm.last_measure_timestamp', nullable: true },
};

export const noSuchMetric = (id: string) =>
  described('INDEX_NO_SUCH_METRIC', `Metric ${id} does not exist`, { id });

export const namedMetricExists = (name: string) =>
  described('INDEX_NAMED_METRIC_ALREADY_EXISTS', `Named metric ${name} already exists`, { name });

/** Constraint violations any metric insert or attach can hit. */
export function metricConstraintErrors(metric: {
  id: string;
  name?: string | null;
  resourceId?: string | null;
  archivePolicyName?: string;
}): ConstraintErrors {
  return (constraint) => {
    if (constraint === 'metric_pkey')
      return described('INDEX_METRIC_ALREADY_EXISTS', `Metric ${metric.id} already exists`);
    if (constraint === 'metric_resource_name_key') return namedMetricExists(metric.name ?? '');
    if (constraint === 'metric_archive_policy_fk') return unknownPolicy(metric.archivePolicyName ?? '');
    if (constraint === 'metric_resource_fk') {
      return described('INDEX_NO_SUCH_RESOURCE', `Resource ${metric.resourceId} does not exist`, {
        id: metric.resourceId,
      });
    }
    return undefined;
  };
}

export function validateMetricName(
  name: string | null | undefined,
  path: (string | number)[] = ['name'],
): void {
  if (name === null || name === undefined) return;
  if (typeof name !== 'string' || name.length === 0 || name.includes('\0'))
    throw invalidInput('INDEX_INVALID_METRIC', 'expected str', path);
  if (name.includes('/')) throw described('INDEX_INVALID_METRIC', "'/' is not supported in metric name");
  // Gnocchi's column is String(255); a longer name would also overflow the unique index's row size.
  if ([...name].length > MAX_METRIC_NAME_LENGTH)
    throw invalidInput(
      'INDEX_INVALID_METRIC',
      `length of value must be at most ${MAX_METRIC_NAME_LENGTH}`,
      path,
    );
}

/** Gnocchi's `metric.name` column size. */
export const MAX_METRIC_NAME_LENGTH = 255;

function validateUnit(unit: string | null | undefined): void {
  if (unit === null || unit === undefined) return;
  if (typeof unit !== 'string' || unit.includes('\0'))
    throw invalidInput('INDEX_INVALID_METRIC', 'expected str', ['unit']);
  if ([...unit].length > 31)
    throw invalidInput('INDEX_INVALID_METRIC', 'length of value must be at most 31', ['unit']);
}

/** Inserts one metric inside a caller's transaction (standalone, or as part of a resource write). */
export async function insertMetric(
  tx: Queryable,
  rules: ArchivePolicyRules,
  input: MetricCreate,
): Promise<string> {
  validateMetricName(input.name);
  validateUnit(input.unit);
  if (input.resourceId && !input.name)
    throw invalidInput('INDEX_INVALID_METRIC', 'required key not provided', ['name'], false);
  const id = input.id === undefined ? randomUUID() : parseUuid(input.id);
  if (!id) throw invalidInput('INDEX_INVALID_METRIC', 'badly formed hexadecimal UUID string', ['id']);
  const archivePolicyName = input.archivePolicyName ?? (await rules.policyFor(input.name ?? null, tx));
  if (archivePolicyName === undefined) {
    throw described(
      'INDEX_NO_ARCHIVE_POLICY_RULE_MATCH',
      `No archive policy name specified and no archive policy rule found matching the metric name ${input.name ?? ''}`,
    );
  }
  await tx.query(
    'INSERT INTO metric (id, name, unit, resource_id, creator, archive_policy_name) VALUES ($1, $2, $3, $4, $5, $6)',
    [id, input.name ?? null, input.unit ?? null, input.resourceId ?? null, input.creator, archivePolicyName],
  );
  return id;
}

export class Metrics {
  constructor(
    private readonly db: Database,
    private readonly rules: ArchivePolicyRules,
  ) {}

  /**
   * Creates a metric. Two processes creating the same named metric of a resource at once get one
   * row; the loser gets INDEX_NAMED_METRIC_ALREADY_EXISTS (the unique index arbitrates).
   */
  async create(input: MetricCreate): Promise<Metric> {
    return this.db.transaction(
      async (tx) => (await this.read(tx, await insertMetric(tx, this.rules, input)))!,
      metricConstraintErrors({ id: input.id ?? '', ...input }),
    );
  }

  /** Active or not; callers decide what a `delete` status means to them. */
  async get(id: string): Promise<Metric | undefined> {
    const uuid = parseUuid(id);
    return uuid ? this.read(this.db.pool, uuid) : undefined;
  }

  private async read(q: Queryable, uuid: string): Promise<Metric | undefined> {
    const { rows } = await q.query<MetricRow>(
      `SELECT ${METRIC_COLUMNS} FROM ${METRIC_SOURCE} WHERE m.id = $1`,
      [uuid],
    );
    return rows[0] && toMetric(rows[0]);
  }

  /** Active metrics among `ids`, in no particular order (batch measure writes check ids with this). */
  async getMany(ids: readonly string[]): Promise<Metric[]> {
    const uuids = ids.map(parseUuid).filter((u): u is string => u !== undefined);
    const rows = await this.db.query<MetricRow>(
      `SELECT ${METRIC_COLUMNS} FROM ${METRIC_SOURCE} WHERE m.id = ANY($1::uuid[]) AND m.status = 'active'`,
      [uuids],
    );
    return rows.map(toMetric);
  }

  /** The hot look-up of ingest: the active metric called `name` on a resource. */
  async getByResourceAndName(resourceId: string, name: string): Promise<Metric | undefined> {
    const uuid = parseUuid(resourceId);
    if (!uuid) return undefined;
    const rows = await this.db.query<MetricRow>(
      `SELECT ${METRIC_COLUMNS} FROM ${METRIC_SOURCE} WHERE m.resource_id = $1 AND m.name = $2 AND m.status = 'active'`,
      [uuid, name],
    );
    return rows[0] && toMetric(rows[0]);
  }

  /** Active metrics of a resource, by name. */
  async listForResource(resourceId: string): Promise<Metric[]> {
    const uuid = parseUuid(resourceId);
    if (!uuid) return [];
    const rows = await this.db.query<MetricRow>(
      `SELECT ${METRIC_COLUMNS} FROM ${METRIC_SOURCE} WHERE m.resource_id = $1 AND m.status = 'active' ORDER BY m.name`,
      [uuid],
    );
    return rows.map(toMetric);
  }

  /** Gnocchi's metric listing: equality filters plus keyset pagination (default sort `id:asc`). */
  async list(filter: MetricListFilter = {}, page: PageRequest = {}): Promise<Metric[]> {
    const keys = resolveSort(
      page.sort,
      ['id:asc'],
      (key) => (Object.hasOwn(SORTABLE, key) ? SORTABLE[key] : undefined),
      ['id'],
    );
    const limit = validateLimit(page.limit);
    const params: unknown[] = [];
    const add = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const where = [`m.status = ${add(filter.status ?? 'active')}`];
    const equal = (column: string, value: string | undefined) => {
      if (value !== undefined) where.push(`${column} = ${add(value)}`);
    };
    if (filter.id !== undefined) {
      const uuid = parseUuid(filter.id);
      if (!uuid) return [];
      equal('m.id', uuid);
    }
    if (filter.resourceId !== undefined) {
      const uuid = parseUuid(filter.resourceId);
      if (!uuid) return [];
      equal('m.resource_id', uuid);
    }
    equal('m.name', filter.name);
    equal('m.unit', filter.unit);
    equal('m.archive_policy_name', filter.archivePolicyName);
    equal('m.creator', filter.creator);
    equal(`split_part(m.creator, ':', 1)`, filter.createdByUserId);
    equal(`split_part(m.creator, ':', 2)`, filter.createdByProjectId);
    if (filter.visibleTo) where.push(visibilityCondition(filter.visibleTo, add));
    let withMarker = '';
    if (page.marker !== undefined) {
      const markerId = parseUuid(page.marker);
      const exists =
        markerId && (await this.db.query('SELECT 1 FROM metric WHERE id = $1', [markerId])).length > 0;
      if (!exists) throw invalidMarker(page.marker);
      withMarker = `WITH marker AS (SELECT ${markerColumns(keys)} FROM metric m WHERE m.id = ${add(markerId)})`;
      where.push(afterMarkerCondition(keys, 'marker'));
    }
    const rows = await this.db.query<MetricRow>(
      `${withMarker} SELECT ${METRIC_COLUMNS} FROM ${METRIC_SOURCE} WHERE ${where.join(' AND ')}
       ORDER BY ${orderByClause(keys)} ${limit === undefined ? '' : `LIMIT ${add(limit)}`}`,
      params,
    );
    return rows.map(toMetric);
  }

  /** Marks an active metric deleted (Gnocchi's DELETE; the janitor expunges it later). */
  async delete(id: string): Promise<void> {
    const uuid = parseUuid(id);
    const rows = uuid
      ? await this.db.query(
          `UPDATE metric SET status = 'delete' WHERE id = $1 AND status = 'active' RETURNING id`,
          [uuid],
        )
      : [];
    if (rows.length === 0) throw noSuchMetric(id);
  }

  /** Metrics marked deleted, oldest ids first, for the janitor to clean storage before `expunge`. */
  async listDeleted(limit: number): Promise<Metric[]> {
    const rows = await this.db.query<MetricRow>(
      `SELECT ${METRIC_COLUMNS} FROM ${METRIC_SOURCE} WHERE m.status = 'delete' ORDER BY m.id LIMIT $1`,
      [validateLimit(limit)],
    );
    return rows.map(toMetric);
  }

  /** Removes deleted metrics' rows for good; active ones are never touched. */
  async expunge(ids: readonly string[]): Promise<number> {
    const rows = await this.db.query(
      `DELETE FROM metric WHERE id = ANY($1::uuid[]) AND status = 'delete' RETURNING id`,
      [ids.map(parseUuid).filter(Boolean)],
    );
    return rows.length;
  }

  /** Records the newest measure timestamps processed; a timestamp never moves backwards. */
  async updateLastMeasureTimestamps(
    updates: readonly { metricId: string; timestamp: EpochMicros }[],
  ): Promise<void> {
    if (updates.length === 0) return;
    await this.db.query(
      `UPDATE metric m SET last_measure_timestamp = greatest(m.last_measure_timestamp, granary_micros_to_timestamp(u.ts))
       FROM unnest($1::uuid[], $2::bigint[]) AS u(id, ts) WHERE m.id = u.id`,
      [updates.map((u) => u.metricId), updates.map((u) => u.timestamp)],
    );
  }

  /** Clears the flag set when a policy's back window shrank, once the raw buffer was re-truncated. */
  async clearRawDataTruncation(ids: readonly string[]): Promise<void> {
    await this.db.query('UPDATE metric SET needs_raw_data_truncation = false WHERE id = ANY($1::uuid[])', [
      ids,
    ]);
  }
}

/** `creator LIKE '%:<project>'` (without LIKE's wildcards) OR the metric's resource in the project. */
function visibilityCondition(
  visibleTo: NonNullable<MetricListFilter['visibleTo']>,
  add: (value: unknown) => string,
): string {
  const alternatives: string[] = [];
  const { createdByProject, resourceProject } = visibleTo;
  if (createdByProject === null) alternatives.push('m.creator IS NULL');
  else if (createdByProject !== undefined) {
    const suffix = add(`:${createdByProject}`);
    alternatives.push(`right(m.creator, length(${suffix})) = ${suffix}`);
  }
  if (resourceProject !== undefined) {
    const project = resourceProject === null ? 'IS NULL' : `= ${add(resourceProject)}`;
    alternatives.push(`m.resource_id IN (SELECT r.id FROM resource r WHERE r.project_id ${project})`);
  }
  return alternatives.length === 0 ? 'false' : `(${alternatives.join(' OR ')})`;
}
