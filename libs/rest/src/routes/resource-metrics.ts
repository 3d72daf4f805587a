import { indexError } from '@granary/index';
import type { RouteContext } from '../app.ts';
import type { Principal } from '../auth.ts';
import { describedRestError } from '../errors.ts';
import { authorize, resourceTarget } from '../policy.ts';
import type { AttributeValue, MeasureBatch, Metric, MetricSpec, Resource } from '../ports.ts';
import { authorizeMetric } from './metrics.ts';

/** Measures of one metric name, in the order they were read. */
export interface NamedMeasures {
  timestamps: number[];
  values: number[];
}

/**
 * What one write names for one resource: its id as the client gave it, the attributes it gets if
 * it is created, and measures by metric name.
 */
export interface ResourceWrite {
  rawId: string;
  attributes?: Record<string, AttributeValue>;
  measures: Map<string, NamedMeasures>;
}

/** Concurrent writers of the same new resource or metric: the loser reads what the winner made. */
const ATTEMPTS = 5;

/**
 * Gnocchi's `get_or_create_resource_and_metrics` for the InfluxDB and Prometheus writes: each
 * resource of `type` is found (`update resource` enforced) or created (`create resource`) with
 * its attributes, its missing metrics are created (archive policy from the rules), `post measures`
 * is enforced on every metric written, and the measures become one batch per metric, ready for a
 * single `MeasureWriter.write`. A resource whose id is taken by a resource of another type is
 * Gnocchi's 409 `{cause: "Resource already exists", detail: <id>}`.
 */
export async function resourceMeasureBatches(
  ctx: RouteContext,
  principal: Principal,
  type: string,
  writes: Iterable<ResourceWrite>,
): Promise<MeasureBatch[]> {
  const batches: MeasureBatch[] = [];
  for (const write of writes) {
    const metrics = await resourceMetrics(ctx, principal, type, write);
    for (const [name, measures] of write.measures) {
      const metric = metrics.get(name);
      // Created or found just above; absent only if deleted in between, as Gnocchi skips it.
      if (!metric) continue;
      await authorizeMetric(ctx, principal, 'post measures', metric);
      batches.push({ metric_id: metric.id, timestamps: measures.timestamps, values: measures.values });
    }
  }
  return batches;
}

/** The resource's active metrics by name, after creating the resource or the missing names. */
async function resourceMetrics(
  ctx: RouteContext,
  principal: Principal,
  type: string,
  write: ResourceWrite,
): Promise<Map<string, Metric>> {
  const { index } = ctx.deps;
  const mapped = index.resourceId(write.rawId, principal.creator);
  if ('problem' in mapped) throw describedRestError('REST_INVALID_INPUT', mapped.problem);
  for (let attempt = 1; ; attempt++) {
    try {
      const resource = await findOrCreate(ctx, principal, type, mapped.id, write);
      const metrics = await index.metrics.list({ resourceId: resource.id }, { sort: ['name:asc'] });
      return new Map(metrics.map((metric) => [metric.name ?? '', metric]));
    } catch (err) {
      const raced =
        indexError.is(err, 'INDEX_RESOURCE_ALREADY_EXISTS') ||
        indexError.is(err, 'INDEX_NAMED_METRIC_ALREADY_EXISTS');
      if (!raced) throw err;
      if (indexError.is(err, 'INDEX_RESOURCE_ALREADY_EXISTS')) {
        const taken = await index.resources.get('generic', mapped.id);
        if (taken && taken.type !== type) throw resourceExists(mapped.id, err);
      }
      if (attempt === ATTEMPTS) throw err;
    }
  }
}

async function findOrCreate(
  ctx: RouteContext,
  principal: Principal,
  type: string,
  id: string,
  write: ResourceWrite,
): Promise<Resource> {
  const { resources } = ctx.deps.index;
  const names = [...write.measures.keys()];
  const existing = await resources.get(type, id);
  if (!existing) {
    authorize(principal, 'create resource', { creator: principal.creator });
    return resources.create({
      type,
      id: write.rawId,
      creator: principal.creator,
      attributes: write.attributes ?? {},
      metrics: defaultSpecs(names),
    });
  }
  authorize(principal, 'update resource', resourceTarget(existing));
  const missing = names.filter((name) => !Object.hasOwn(existing.metrics, name));
  if (missing.length === 0) return existing;
  // New metrics are the resource creator's, as through `POST …/metric`.
  return resources.addMetrics(type, id, defaultSpecs(missing), { creator: existing.creator });
}

/** Names → "archive policy from the rules"; a null-prototype object, since names are the client's. */
function defaultSpecs(names: readonly string[]): Record<string, MetricSpec> {
  const specs: Record<string, MetricSpec> = Object.create(null);
  for (const name of names) specs[name] = {};
  return specs;
}

/** Gnocchi's `ResourceAlreadyExists.jsonify()` as the body of the 409. */
const resourceExists = (id: string, cause: unknown) =>
  indexError('INDEX_RESOURCE_ALREADY_EXISTS', `Resource ${id} already exists`, {
    cause,
    details: { description: { cause: 'Resource already exists', detail: id } },
  });
