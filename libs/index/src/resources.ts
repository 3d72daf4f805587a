import type { ArchivePolicyRules } from './archive-policies.ts';
import { type ConstraintErrors, type Database, type Queryable, micros, timestampToMicros } from './db.ts';
import { described, invalidInput } from './errors.ts';
import { SqlParams, compileFilter, sortExpression } from './filter/compile.ts';
import type { ResourceFilter } from './filter/parse.ts';
import { insertMetric, metricConstraintErrors, validateMetricName } from './metrics.ts';
import {
  type PageRequest,
  afterMarkerCondition,
  invalidMarker,
  markerColumns,
  orderByClause,
  resolveSort,
  validateLimit,
} from './pagination.ts';
import {
  type AttributeValue,
  GENERIC_TYPE,
  type ResourceType,
  loadResourceType,
  validateAttributes,
} from './resource-types.ts';
import { type EpochMicros, type TimestampInput, toMicros } from './time.ts';
import { isResourceIdProblem, parseUuid, resourceUuid } from './uuid.ts';

export interface Resource {
  id: string;
  type: string;
  creator: string | null;
  /** The id as the client gave it (Gnocchi keeps it when mapping non-UUID ids to UUIDv5). */
  originalResourceId: string;
  startedAt: EpochMicros;
  endedAt: EpochMicros | null;
  userId: string | null;
  projectId: string | null;
  revisionStart: EpochMicros;
  /** Null for the current revision. */
  revisionEnd: EpochMicros | null;
  /** -1 for the current revision, else the history row's number (Gnocchi's `id@revision` markers). */
  revision: number;
  attributes: Record<string, AttributeValue>;
  /**
   * Active metrics of the resource by name, in name order as Gnocchi reads them (for past revisions
   * too: metrics are not versioned).
   */
  metrics: Record<string, string>;
}

/** A metric to attach: an existing metric's id, or a new one (policy from the rules when absent). */
export type MetricSpec = string | { archivePolicyName?: string; unit?: string | null };

export interface ResourceCreate {
  type: string;
  /** Raw id as the client sent it: UUIDs are kept, anything else maps to UUIDv5 with the creator. */
  id: string;
  creator: string | null;
  startedAt?: TimestampInput;
  endedAt?: TimestampInput | null;
  userId?: string | null;
  projectId?: string | null;
  attributes?: Record<string, unknown>;
  metrics?: Record<string, MetricSpec>;
}

export interface ResourceUpdate {
  startedAt?: TimestampInput;
  endedAt?: TimestampInput | null;
  userId?: string | null;
  projectId?: string | null;
  attributes?: Record<string, unknown>;
  /** Replaces the resource's metric set (Gnocchi's PATCH); absent leaves metrics alone. */
  metrics?: Record<string, MetricSpec>;
}

export interface ResourceSearch extends PageRequest {
  type: string;
  filter?: ResourceFilter | null;
  /** Include past revisions; markers are then `id@revision`. */
  history?: boolean;
  /** The searching user's creator, to map non-UUID ids in filters as Gnocchi does. */
  creator?: string | null;
}

const CURRENT = `SELECT r.id, r.type, r.creator, r.original_resource_id, r.started_at, r.ended_at, r.user_id,
  r.project_id, r.revision_start, NULL::timestamptz AS revision_end, -1::bigint AS revision, r.attributes FROM resource r`;
const PAST = `SELECT h.id, h.type, h.creator, h.original_resource_id, h.started_at, h.ended_at, h.user_id,
  h.project_id, h.revision_start, h.revision_end, h.revision, h.attributes FROM resource_history h`;
const rowSource = (history: boolean) => `(${history ? `${CURRENT} UNION ALL ${PAST}` : CURRENT})`;

const OUTPUT_COLUMNS = `r.id, r.type, r.creator, r.original_resource_id,
  ${timestampToMicros('r.started_at')} AS started_at, ${timestampToMicros('r.ended_at')} AS ended_at,
  r.user_id, r.project_id, ${timestampToMicros('r.revision_start')} AS revision_start,
  ${timestampToMicros('r.revision_end')} AS revision_end, r.revision, r.attributes,
  (SELECT coalesce(json_object_agg(mt.name, mt.id ORDER BY mt.name), '{}'::json) FROM metric mt
    WHERE mt.resource_id = r.id AND mt.status = 'active') AS metrics`;

interface ResourceRow {
  id: string;
  type: string;
  creator: string | null;
  original_resource_id: string;
  started_at: string;
  ended_at: string | null;
  user_id: string | null;
  project_id: string | null;
  revision_start: string;
  revision_end: string | null;
  revision: string;
  attributes: Record<string, AttributeValue>;
  metrics: Record<string, string>;
}

const toResource = (row: ResourceRow): Resource => ({
  id: row.id,
  type: row.type,
  creator: row.creator,
  originalResourceId: row.original_resource_id,
  startedAt: micros(row.started_at)!,
  endedAt: micros(row.ended_at),
  userId: row.user_id,
  projectId: row.project_id,
  revisionStart: micros(row.revision_start)!,
  revisionEnd: micros(row.revision_end),
  revision: Number(row.revision),
  // Keyed by user-chosen names and looked up by them: no prototype to find `constructor` in.
  attributes: Object.assign(Object.create(null), row.attributes),
  metrics: Object.assign(Object.create(null), row.metrics),
});

export const noSuchResource = (id: string) =>
  described('INDEX_NO_SUCH_RESOURCE', 'The resource could not be found.', { id });

const startAfterEnd = () =>
  described('INDEX_INVALID_RESOURCE', 'Start timestamp cannot be after end timestamp');

function optionalText(value: string | null | undefined, field: string): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string' || value.includes('\0') || value.length > 255) {
    throw invalidInput('INDEX_INVALID_RESOURCE', 'expected str', [field]);
  }
  return value;
}

const typeCondition = (type: string, alias: string, params: SqlParams) =>
  type === GENERIC_TYPE ? 'TRUE' : `${alias}.type = ${params.add(type)}`;

export class Resources {
  constructor(
    private readonly db: Database,
    private readonly rules: ArchivePolicyRules,
  ) {}

  /**
   * Creates a resource and its metrics in one transaction. Two processes creating the same id at
   * once get one row; the loser gets INDEX_RESOURCE_ALREADY_EXISTS (the primary key arbitrates).
   */
  async create(input: ResourceCreate): Promise<Resource> {
    const id = resourceUuid(input.id, input.creator);
    if (isResourceIdProblem(id)) throw invalidInput('INDEX_INVALID_RESOURCE', id, ['id']);
    const startedAt = input.startedAt === undefined ? null : toMicros(input.startedAt, 'started_at');
    const endedAt =
      input.endedAt === undefined || input.endedAt === null ? null : toMicros(input.endedAt, 'ended_at');
    if (startedAt !== null && endedAt !== null && startedAt > endedAt) throw startAfterEnd();
    const userId = optionalText(input.userId, 'user_id');
    const projectId = optionalText(input.projectId, 'project_id');
    for (const name of Object.keys(input.metrics ?? {})) validateMetricName(name, ['metrics', name]);
    return this.db.transaction(
      async (tx) => {
        const type = await loadResourceType(tx, input.type, 'resource write');
        const attributes = validateAttributes(type, input.attributes ?? {}, 'full');
        await tx.query(
          `INSERT INTO resource (id, type, creator, original_resource_id, started_at, ended_at, user_id, project_id,
             revision_start, attributes)
           VALUES ($1, $2, $3, $4, coalesce(granary_micros_to_timestamp($5::bigint), now()),
             granary_micros_to_timestamp($6::bigint), $7, $8, now(), $9)`,
          [
            id,
            type.name,
            input.creator,
            input.id,
            startedAt,
            endedAt,
            userId,
            projectId,
            JSON.stringify(attributes),
          ],
        );
        await this.attachMetrics(tx, id, input.creator, input.metrics ?? {});
        return (await this.read(tx, input.type, id))!;
      },
      (constraint) => {
        if (constraint === 'resource_pkey')
          return described('INDEX_RESOURCE_ALREADY_EXISTS', `Resource ${id} already exists`, { id });
        // The default start (now) is only known to the database.
        if (constraint === 'resource_started_before_ended') return startAfterEnd();
        return undefined;
      },
    );
  }

  /** The current revision; `type` other than generic must be the resource's own type. */
  async get(type: string, id: string): Promise<Resource | undefined> {
    const uuid = parseUuid(id);
    return uuid ? this.read(this.db.pool, type, uuid) : undefined;
  }

  /**
   * Patches a resource. A revision is recorded only when a versioned field or attribute actually
   * changes; metric changes never make one (as Gnocchi). Concurrent patches serialise on the row.
   */
  async update(
    type: string,
    id: string,
    change: ResourceUpdate,
    options: { creator: string | null },
  ): Promise<Resource> {
    const uuid = parseUuid(id);
    if (!uuid) throw noSuchResource(id);
    for (const name of Object.keys(change.metrics ?? {})) validateMetricName(name, ['metrics', name]);
    return this.db.transaction(async (tx) => {
      const actualType = await this.currentType(tx, type, uuid);
      const resourceType = await loadResourceType(tx, actualType, 'resource write');
      const { rows } = await tx.query<ResourceRow>(
        `SELECT r.*, ${timestampToMicros('r.started_at')} AS started_at, ${timestampToMicros('r.ended_at')} AS ended_at,
           ${timestampToMicros('r.revision_start')} AS revision_start
         FROM resource r WHERE r.id = $1 FOR UPDATE`,
        [uuid],
      );
      const current = rows[0];
      if (!current) throw noSuchResource(id);
      const next = {
        started_at:
          change.startedAt === undefined
            ? micros(current.started_at)!
            : toMicros(change.startedAt, 'started_at'),
        ended_at:
          change.endedAt === undefined
            ? micros(current.ended_at)
            : change.endedAt === null
              ? null
              : toMicros(change.endedAt, 'ended_at'),
        user_id: change.userId === undefined ? current.user_id : optionalText(change.userId, 'user_id'),
        project_id:
          change.projectId === undefined ? current.project_id : optionalText(change.projectId, 'project_id'),
        attributes: {
          ...current.attributes,
          ...validateAttributes(resourceType, change.attributes ?? {}, 'partial'),
        },
      };
      if (next.ended_at !== null && next.started_at > next.ended_at) throw startAfterEnd();
      const changed =
        next.started_at !== micros(current.started_at) ||
        next.ended_at !== micros(current.ended_at) ||
        next.user_id !== current.user_id ||
        next.project_id !== current.project_id ||
        attributesDiffer(resourceType, current.attributes, next.attributes);
      if (changed) {
        // Stamped after the row lock, never before the revision it closes: a patch that waited for
        // another one must not end that one's revision before it started.
        const { rows: clock } = await tx.query<{ now: string }>(
          `SELECT ${timestampToMicros('clock_timestamp()')} AS now`,
        );
        const revisionTime = Math.max(micros(clock[0]!.now)!, micros(current.revision_start)!);
        await tx.query(
          `INSERT INTO resource_history (id, type, creator, original_resource_id, started_at, ended_at, user_id,
             project_id, revision_start, revision_end, attributes)
           SELECT id, type, creator, original_resource_id, started_at, ended_at, user_id, project_id,
             revision_start, granary_micros_to_timestamp($2::bigint), attributes FROM resource WHERE id = $1`,
          [uuid, revisionTime],
        );
        await tx.query(
          `UPDATE resource SET started_at = granary_micros_to_timestamp($2::bigint),
             ended_at = granary_micros_to_timestamp($3::bigint), user_id = $4, project_id = $5, attributes = $6,
             revision_start = granary_micros_to_timestamp($7::bigint)
           WHERE id = $1`,
          [
            uuid,
            next.started_at,
            next.ended_at,
            next.user_id,
            next.project_id,
            JSON.stringify(next.attributes),
            revisionTime,
          ],
        );
      }
      if (change.metrics !== undefined) {
        await tx.query(`UPDATE metric SET resource_id = NULL WHERE resource_id = $1 AND status = 'active'`, [
          uuid,
        ]);
        await this.attachMetrics(tx, uuid, options.creator, change.metrics);
      }
      return (await this.read(tx, type, uuid))!;
    });
  }

  /** Adds named metrics to a resource (Gnocchi's POST …/metric); a taken name is a conflict. */
  async addMetrics(
    type: string,
    id: string,
    metrics: Record<string, MetricSpec>,
    options: { creator: string | null },
  ): Promise<Resource> {
    const uuid = parseUuid(id);
    if (!uuid) throw noSuchResource(id);
    for (const name of Object.keys(metrics)) validateMetricName(name, ['metrics', name]);
    return this.db.transaction(async (tx) => {
      await this.currentType(tx, type, uuid);
      await tx.query('SELECT 1 FROM resource WHERE id = $1 FOR KEY SHARE', [uuid]);
      await this.attachMetrics(tx, uuid, options.creator, metrics);
      return (await this.read(tx, type, uuid))!;
    });
  }

  /** Deletes a resource (and its history); its active metrics are marked deleted. */
  async delete(type: string, id: string): Promise<void> {
    const uuid = parseUuid(id);
    if (!uuid) throw noSuchResource(id);
    await this.db.transaction(async (tx) => {
      const params = new SqlParams();
      const { rows } = await tx.query<{ id: string }>(
        `SELECT r.id FROM resource r WHERE r.id = ${params.add(uuid)} AND ${typeCondition(type, 'r', params)} FOR UPDATE`,
        params.values,
      );
      if (rows.length === 0) throw noSuchResource(id);
      await this.deleteLocked(tx, [uuid]);
    });
  }

  /** Gnocchi's batch delete by filter: returns how many resources went. An empty filter is refused. */
  async deleteMatching(
    type: string,
    filter: ResourceFilter | null,
    options: { creator: string | null },
  ): Promise<number> {
    if (!filter)
      throw described(
        'INDEX_INVALID_FILTER',
        'Invalid filter: a non-empty filter is required to delete resources',
      );
    return this.db.transaction(async (tx) => {
      const resourceType = await loadResourceType(tx, type, 'resource write');
      const params = new SqlParams();
      const condition = compileFilter(filter, {
        type: resourceType,
        alias: 'r',
        creator: options.creator,
        params,
      });
      const { rows } = await tx.query<{ id: string }>(
        `SELECT r.id FROM ${rowSource(false)} r WHERE ${typeCondition(type, 'r', params)} AND ${condition}`,
        params.values,
      );
      const ids = rows.map((r) => r.id);
      // Lock what matched, then delete what is still there: concurrent deletes do not double count.
      const { rows: locked } = await tx.query<{ id: string }>(
        'SELECT id FROM resource WHERE id = ANY($1::uuid[]) FOR UPDATE',
        [ids],
      );
      await this.deleteLocked(
        tx,
        locked.map((r) => r.id),
      );
      return locked.length;
    });
  }

  /** Resources matching a filter, one page, in the requested order (Gnocchi's default otherwise). */
  async search(request: ResourceSearch): Promise<Resource[]> {
    const type = await loadResourceType(this.db.pool, request.type, 'none');
    const history = request.history ?? false;
    const params = new SqlParams();
    const ctx = { type, alias: 'r', creator: request.creator ?? null, params };
    const keys = resolveSort(
      request.sort,
      ['revision_start:asc', 'started_at:asc'],
      (key) => (key === 'revision' ? { sql: 'r.revision', nullable: false } : sortExpression(ctx, key)),
      history ? ['id', 'revision'] : ['id'],
    );
    const limit = validateLimit(request.limit);
    const where = [typeCondition(request.type, 'r', params)];
    if (request.filter) where.push(compileFilter(request.filter, ctx));
    let withMarker = '';
    if (request.marker !== undefined) {
      const { id, revision } = await this.findMarker(request.marker, history);
      withMarker = `WITH marker AS (SELECT ${markerColumns(keys)} FROM ${rowSource(history)} r
        WHERE r.id = ${params.add(id)} AND r.revision = ${params.add(revision)})`;
      where.push(afterMarkerCondition(keys, 'marker'));
    }
    const rows = await this.db.query<ResourceRow>(
      `${withMarker} SELECT ${OUTPUT_COLUMNS} FROM ${rowSource(history)} r WHERE ${where.join(' AND ')}
       ORDER BY ${orderByClause(keys)} ${limit === undefined ? '' : `LIMIT ${params.add(limit)}`}`,
      params.values,
    );
    return rows.map(toResource);
  }

  /** Every revision of one resource (Gnocchi's …/history), oldest first unless sorted otherwise. */
  async history(type: string, id: string, page: PageRequest = {}): Promise<Resource[]> {
    const uuid = parseUuid(id);
    if (!uuid || !(await this.get(type, uuid))) throw noSuchResource(id);
    return this.search({
      ...page,
      type,
      history: true,
      sort: page.sort && page.sort.length > 0 ? page.sort : ['revision_start:asc'],
      filter: { kind: 'compare', operator: 'eq', attribute: 'id', value: uuid },
    });
  }

  /** Reads inside the writer's transaction, so a write returns exactly what it wrote. */
  private async read(q: Queryable, type: string, uuid: string): Promise<Resource | undefined> {
    const params = new SqlParams();
    const { rows } = await q.query<ResourceRow>(
      `SELECT ${OUTPUT_COLUMNS} FROM ${rowSource(false)} r
       WHERE r.id = ${params.add(uuid)} AND ${typeCondition(type, 'r', params)}`,
      params.values,
    );
    return rows[0] && toResource(rows[0]);
  }

  /** A marker is `id` for current rows, `id@revision` with history (-1 = current), as Gnocchi's links. */
  private async findMarker(marker: string, history: boolean): Promise<{ id: string; revision: number }> {
    const [rawId = '', rawRevision] = history ? marker.split('@') : [marker];
    const id = parseUuid(rawId);
    const revision = rawRevision === undefined ? -1 : Number(rawRevision);
    if (!id || !Number.isSafeInteger(revision)) throw invalidMarker(marker);
    const rows = await this.db.query(
      `SELECT 1 FROM ${rowSource(history)} r WHERE r.id = $1 AND r.revision = $2`,
      [id, revision],
    );
    if (rows.length === 0) throw invalidMarker(marker);
    return { id, revision };
  }

  private async currentType(tx: Queryable, type: string, id: string): Promise<string> {
    const { rows } = await tx.query<{ type: string }>('SELECT type FROM resource WHERE id = $1', [id]);
    const actual = rows[0]?.type;
    if (actual === undefined || (type !== GENERIC_TYPE && actual !== type)) throw noSuchResource(id);
    return actual;
  }

  private async deleteLocked(tx: Queryable, ids: string[]): Promise<void> {
    await tx.query(
      `UPDATE metric SET status = 'delete' WHERE resource_id = ANY($1::uuid[]) AND status = 'active'`,
      [ids],
    );
    await tx.query('DELETE FROM resource WHERE id = ANY($1::uuid[])', [ids]);
  }

  /** `creator` is the resource's: new metrics get it, and only metrics that have it attach (Gnocchi). */
  private async attachMetrics(
    tx: Queryable,
    resourceId: string,
    creator: string | null,
    metrics: Record<string, MetricSpec>,
  ): Promise<void> {
    for (const [name, spec] of Object.entries(metrics)) {
      if (typeof spec === 'string') {
        const metricId = parseUuid(spec);
        const unknown = () =>
          described('INDEX_UNKNOWN_METRIC', `Metric ${spec} does not exist`, { id: spec });
        if (!metricId) throw unknown();
        const constraints = metricConstraintErrors({ id: metricId, name, resourceId });
        const updated = await translatingConstraints(constraints, () =>
          tx.query(
            // Gnocchi attaches only a metric of the resource's creator: anyone else's is "unknown".
            `UPDATE metric SET resource_id = $2, name = $3
             WHERE id = $1 AND status = 'active' AND creator IS NOT DISTINCT FROM $4 RETURNING id`,
            [metricId, resourceId, name, creator],
          ),
        );
        if (updated.rowCount === 0) throw unknown();
      } else {
        if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
          throw invalidInput('INDEX_INVALID_METRIC', 'expected a dictionary', ['metrics', name]);
        }
        const constraints = metricConstraintErrors({
          id: '',
          name,
          resourceId,
          archivePolicyName: spec.archivePolicyName,
        });
        await translatingConstraints(constraints, () =>
          insertMetric(tx, this.rules, {
            name,
            resourceId,
            creator,
            unit: spec.unit ?? null,
            archivePolicyName: spec.archivePolicyName,
          }),
        );
      }
    }
  }
}

/** Translates a constraint violation of one statement where its meaning is known (which metric). */
async function translatingConstraints<T>(constraints: ConstraintErrors, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const pg = err as { code?: string; constraint?: string };
    if ((pg.code === '23505' || pg.code === '23503') && pg.constraint) {
      const mapped = constraints(pg.constraint, pg.code);
      if (mapped) throw mapped;
    }
    throw err;
  }
}

function attributesDiffer(
  type: ResourceType,
  a: Record<string, AttributeValue>,
  b: Record<string, AttributeValue>,
): boolean {
  return Object.keys(type.attributes).some((name) => (a[name] ?? null) !== (b[name] ?? null));
}
