import { AGGREGATION_METHODS } from '@granary/carbonara';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { RouteContext } from '../app.ts';
import { describedRestError } from '../errors.ts';
import type { OpenApiCollector } from '../openapi.ts';
import { type Query, queryValue } from '../pagination.ts';
import type { MemberReport } from '../ports.ts';

/** The collections `GET /v1/` links to, as Gnocchi's V1Controller lists them. */
const V1_COLLECTIONS = [
  'aggregates',
  'aggregation',
  'archive_policy',
  'archive_policy_rule',
  'batch',
  'capabilities',
  'influxdb',
  'metric',
  'resource',
  'resource_type',
  'search',
  'status',
];

/**
 * What Gnocchi's status has no place for: every consumer group's lag, and what the live processors
 * and ingest members published (dead letters by code, points dropped as too old, rebuilds running).
 * Members are null when Redis cannot be read, rather than failing the whole status.
 */
async function granaryDetails(ctx: RouteContext, log: FastifyBaseLogger) {
  const backlog = ctx.deps.backlog;
  const groups = (await backlog?.consumerGroups?.()) ?? [];
  let members: MemberReport[] | null;
  try {
    members = (await backlog?.members?.()) ?? [];
  } catch (err) {
    log.warn({ err }, 'status: member statuses could not be read');
    members = null;
  }
  const deadLetters = new Map<string, number>();
  for (const { code, count } of (members ?? []).flatMap((m) => m.deadLetters)) {
    deadLetters.set(code, (deadLetters.get(code) ?? 0) + count);
  }
  const counts = (entries: Iterable<readonly [string, number]>) =>
    [...entries].map(([code, count]) => ({ code, count })).sort((a, b) => a.code.localeCompare(b.code));
  return {
    consumer_groups: groups.map(({ groupId, topic, lag }) => ({ group: groupId, topic, lag })),
    dead_letters: counts(deadLetters),
    points_dropped_too_old: (members ?? []).reduce((sum, m) => sum + m.droppedTooOld, 0),
    rebuilds: (members ?? []).flatMap((m) =>
      m.rebuilds.map((r) => ({
        member: m.member,
        metric_id: r.metricId,
        partition: r.partition,
        phase: r.phase,
        since: new Date(r.since).toISOString(),
      })),
    ),
    members:
      members?.map((m) => ({
        service: m.service,
        member: m.member,
        updated_at: new Date(m.at).toISOString(),
        dead_letters: counts(m.deadLetters.map(({ code, count }) => [code, count] as const)),
        points_dropped_too_old: m.droppedTooOld,
      })) ?? null,
  };
}

/** Version discovery, health, capabilities and the OpenAPI document. */
export function registerRootRoutes(app: FastifyInstance, ctx: RouteContext, openApi: OpenApiCollector): void {
  app.get('/', { config: { access: 'public' } }, async (request) => ({
    build: 'granary',
    versions: [
      {
        status: 'CURRENT',
        links: [{ rel: 'self', href: `${ctx.baseUrl(request)}/v1/` }],
        id: 'v1.0',
        updated: '2015-03-19',
      },
    ],
  }));

  app.get('/v1', { config: { access: 'public' } }, async (request) => {
    const base = `${ctx.baseUrl(request)}/v1`;
    return {
      version: '1.0',
      links: [
        { rel: 'self', href: `${ctx.baseUrl(request)}${request.url.split('?')[0]}` },
        ...V1_COLLECTIONS.map((name) => ({ rel: name, href: `${base}/${name}` })),
      ],
    };
  });

  app.get('/healthcheck', { config: { access: 'public', anyAccept: true } }, async (request, reply) => {
    try {
      await ctx.deps.index.ping();
    } catch (err) {
      request.log.warn({ err }, 'healthcheck: index unreachable');
      throw describedRestError('REST_UNAVAILABLE', 'The index is unreachable');
    }
    return reply.type('text/plain; charset=utf-8').send('OK');
  });

  app.get('/v1/capabilities', async () => ({ aggregation_methods: [...AGGREGATION_METHODS] }));

  // Gnocchi's status, with the partitions of `granary.measures` in place of sacks.
  app.get('/v1/status', { config: { policy: 'get status' } }, async (request) => {
    if (!ctx.deps.backlog) throw describedRestError('REST_UNAVAILABLE', 'No backlog source is configured');
    const partitions = await ctx.deps.backlog.backlog();
    const details = !['false', '0', 'no'].includes(
      (queryValue(request.query as Query, 'details') ?? 'true').toLowerCase(),
    );
    const pending = partitions.filter((p) => p.lag > 0);
    const owners = [...new Set(partitions.map((p) => p.owner).filter((o): o is string => o !== null))].sort();
    return {
      storage: {
        summary: { partitions: pending.length, measures: pending.reduce((sum, p) => sum + p.lag, 0) },
        ...(details
          ? { measures_to_process: Object.fromEntries(pending.map((p) => [String(p.partition), p.lag])) }
          : {}),
      },
      metricd: {
        processors: owners,
        statistics: {
          partitions: partitions.length,
          partitions_owned: partitions.filter((p) => p.owner !== null).length,
          ...(details
            ? {
                checkpoint_offsets: Object.fromEntries(
                  partitions.map((p) => [String(p.partition), p.checkpointOffset]),
                ),
                // Which processor holds each partition (null: none), for the console's status page.
                partition_owners: Object.fromEntries(partitions.map((p) => [String(p.partition), p.owner])),
              }
            : {}),
        },
      },
      ...(details ? { granary: await granaryDetails(ctx, request.log) } : {}),
    };
  });

  app.get('/openapi.json', { config: { access: 'public' } }, async () => openApi.document());
}
