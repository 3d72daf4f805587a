import { type TSchema, Type } from '@sinclair/typebox';
import { MEASURE_QUERY_OPERATORS } from '../measure-query.ts';

/**
 * What `/openapi.json` says about each route beyond the schemas fastify validates: the responses
 * per status code, the query parameters the handlers read themselves, and the bodies that handlers
 * parse themselves (to give Gnocchi's exact errors). Kept here, not as fastify `schema.response` /
 * `schema.querystring`, because those would change behaviour: fastify would validate query strings
 * with its own error texts and compile a serializer per response at start-up, while the API's
 * bytes come from `pythonJson` alone. `openapi.test.ts` fails when a route
 * has no entry here.
 */
export interface OperationDoc {
  /** Success (and notable non-error) statuses; every operation also documents the error body. */
  responses: Record<string, ResponseDoc>;
  /** Query parameters the handler reads with `queryValue(s)`. */
  query?: Record<string, TSchema>;
  /** The body a handler parses itself (the route declares no fastify body schema). */
  body?: TSchema;
}

export interface ResponseDoc {
  description: string;
  /** A JSON body; absent for empty replies (202, 204, 304). */
  schema?: TSchema;
  /** Defaults to `application/json`. */
  mediaType?: string;
}

const NullableString = Type.Union([Type.String(), Type.Null()]);
const Timestamp = Type.String({ description: 'ISO 8601 with offset, as Python isoformat()' });
const Link = Type.Object({ rel: Type.String(), href: Type.String() });

/** Records counted by error code (`/v1/status?details=true`). */
const codeCount = Type.Object({ code: Type.String(), count: Type.Integer() });

/** Gnocchi's error body: webob's status and title, the description text or voluptuous object. */
export const GnocchiError = Type.Object(
  {
    code: Type.Integer(),
    title: Type.String(),
    description: Type.Union([
      Type.String(),
      // Gnocchi leaves `reason` out of some (e.g. "Archive policy does not exist").
      Type.Object({ cause: Type.String(), reason: Type.Optional(Type.String()), detail: Type.Unknown() }),
    ]),
  },
  { additionalProperties: false },
);

const ArchivePolicy = Type.Object(
  {
    name: Type.String(),
    back_window: Type.Integer(),
    definition: Type.Array(
      Type.Object({
        granularity: Type.String(),
        // Both null when only a granularity was given: an unbounded series, as in Gnocchi.
        points: Type.Union([Type.Integer(), Type.Null()]),
        timespan: NullableString,
      }),
    ),
    aggregation_methods: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);
const ArchivePolicyRule = Type.Object(
  { name: Type.String(), metric_pattern: Type.String(), archive_policy_name: Type.String() },
  { additionalProperties: false },
);
const ResourceType = Type.Object(
  {
    name: Type.String(),
    state: Type.String(),
    attributes: Type.Record(Type.String(), Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
const Metric = Type.Object(
  {
    id: Type.String(),
    archive_policy: ArchivePolicy,
    archive_policy_name: Type.String(),
    creator: NullableString,
    created_by_user_id: NullableString,
    created_by_project_id: NullableString,
    name: NullableString,
    unit: NullableString,
    resource_id: NullableString,
  },
  { additionalProperties: false },
);
const RESOURCE_FIELDS = {
  id: Type.String(),
  type: Type.String(),
  creator: NullableString,
  created_by_user_id: NullableString,
  created_by_project_id: NullableString,
  started_at: Timestamp,
  ended_at: Type.Union([Timestamp, Type.Null()]),
  user_id: NullableString,
  project_id: NullableString,
  revision_start: Timestamp,
  revision_end: Type.Union([Timestamp, Type.Null()]),
  metrics: Type.Record(Type.String(), Type.String()),
  original_resource_id: Type.String(),
};
/** A resource; custom attributes of its type are further properties. */
const Resource = Type.Object(RESOURCE_FIELDS, { additionalProperties: true });
/** A resource in a list, where `attrs=` may keep only some fields. */
const SelectedResource = Type.Partial(Type.Object(RESOURCE_FIELDS, { additionalProperties: true }));
/**
 * `[timestamp, granularity, value]`; the granularity is a calendar letter after `resample=` by one.
 * (Not a tuple schema: draft-07 tuples and OpenAPI 3.1's `prefixItems` differ.)
 */
const MeasureRow = Type.Array(Type.Union([Type.String(), Type.Number()]), { minItems: 3, maxItems: 3 });
const Measures = Type.Array(MeasureRow);
/**
 * `{"aggregated": rows}`, or rows by metric id and method, or (the resource form) by resource id,
 * metric name and method.
 */
const MeasureTree = Type.Record(
  Type.String(),
  Type.Union([
    Measures,
    Type.Record(Type.String(), Type.Union([Measures, Type.Record(Type.String(), Measures)])),
  ]),
);
const AggregatesResult = Type.Object({
  measures: MeasureTree,
  references: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
});
const GroupedAggregatesResult = Type.Array(
  Type.Object({ group: Type.Record(Type.String(), Type.Unknown()), ...AggregatesResult.properties }),
);

const MeasureInput = Type.Object({
  timestamp: Type.Union([Type.String(), Type.Number()]),
  value: Type.Number(),
});
const MeasuresBody = Type.Array(MeasureInput);
const AggregatesBody = Type.Object({
  operations: Type.Union([Type.String(), Type.Array(Type.Unknown())]),
  resource_type: Type.Optional(Type.String()),
  search: Type.Optional(Type.Union([Type.String(), Type.Record(Type.String(), Type.Unknown())])),
});
/** A filter in the JSON form, e.g. `{"=": {"id": "…"}}`. */
const SearchFilter = Type.Record(Type.String(), Type.Unknown());

const text = (description?: string) => Type.String(description ? { description } : {});
const PAGINATION = { limit: text('page size'), marker: text('last id of the previous page'), sort: text() };
const RESOURCE_LIST_QUERY = {
  ...PAGINATION,
  attrs: text('fields to keep'),
  details: text(),
  history: text(),
};
const AGGREGATION_QUERY = {
  start: text(),
  stop: text(),
  granularity: text(),
  needed_overlap: text(),
  fill: text(),
  details: text(),
  groupby: text(),
  refresh: text(),
};
const MEASURES_QUERY = {
  start: text(),
  stop: text(),
  aggregation: text(),
  granularity: text(),
  resample: text(),
  refresh: text(),
};

const ok = (schema: TSchema, description = 'OK'): Record<string, ResponseDoc> => ({
  '200': { description, schema },
});
const created = (schema: TSchema): Record<string, ResponseDoc> => ({
  '201': { description: 'Created', schema },
});
const noContent: Record<string, ResponseDoc> = { '204': { description: 'Deleted' } };
const accepted: Record<string, ResponseDoc> = { '202': { description: 'Accepted for processing' } };

const measuresRead: OperationDoc = { responses: ok(Measures), query: MEASURES_QUERY };
const measuresWrite: OperationDoc = { responses: accepted, body: MeasuresBody };
const LEGACY_AGGREGATION_QUERY = {
  ...AGGREGATION_QUERY,
  aggregation: text(),
  reaggregation: text(),
  resample: text(),
};
const legacyAggregation: OperationDoc = {
  responses: ok(Measures),
  query: { ...LEGACY_AGGREGATION_QUERY, metric: text('metric id, repeated') },
};
/**
 * A measure search (`measure-query.ts`): one operator over the value with a number or two operands,
 * or `and`/`or` of such.
 */
const MeasureQuery = Type.Unsafe<Record<string, unknown>>({
  type: 'object',
  minProperties: 1,
  maxProperties: 1,
  propertyNames: { enum: [...MEASURE_QUERY_OPERATORS] },
  additionalProperties: { anyOf: [{ type: 'number' }, { type: 'array', maxItems: 4 }] },
});

/** By `"<METHOD> <fastify url>"`. */
export const OPERATIONS: ReadonlyMap<string, OperationDoc> = new Map<string, OperationDoc>([
  [
    'GET /',
    {
      responses: ok(
        Type.Object({
          build: Type.String(),
          versions: Type.Array(
            Type.Object({
              status: Type.String(),
              links: Type.Array(Link),
              id: Type.String(),
              updated: Type.String(),
            }),
          ),
        }),
      ),
    },
  ],
  ['GET /v1', { responses: ok(Type.Object({ version: Type.String(), links: Type.Array(Link) })) }],
  [
    'GET /healthcheck',
    { responses: { '200': { description: 'OK', schema: Type.String(), mediaType: 'text/plain' } } },
  ],
  [
    'GET /v1/capabilities',
    { responses: ok(Type.Object({ aggregation_methods: Type.Array(Type.String()) })) },
  ],
  [
    'GET /v1/status',
    {
      query: { details: text() },
      responses: ok(
        Type.Object({
          storage: Type.Object({
            summary: Type.Object({ partitions: Type.Integer(), measures: Type.Integer() }),
            measures_to_process: Type.Optional(Type.Record(Type.String(), Type.Integer())),
          }),
          metricd: Type.Object({
            processors: Type.Array(Type.String()),
            statistics: Type.Record(Type.String(), Type.Unknown()),
          }),
          // Granary's own details: lag per group and what live processors and ingest published.
          granary: Type.Optional(
            Type.Object({
              consumer_groups: Type.Array(
                Type.Object({ group: Type.String(), topic: Type.String(), lag: Type.Integer() }),
              ),
              dead_letters: Type.Array(codeCount),
              points_dropped_too_old: Type.Integer(),
              rebuilds: Type.Array(
                Type.Object({
                  member: Type.String(),
                  metric_id: Type.String(),
                  partition: Type.Integer(),
                  phase: Type.String(),
                  since: Type.String(),
                }),
              ),
              members: Type.Union([
                Type.Array(
                  Type.Object({
                    service: Type.String(),
                    member: Type.String(),
                    updated_at: Type.String(),
                    dead_letters: Type.Array(codeCount),
                    points_dropped_too_old: Type.Integer(),
                  }),
                ),
                Type.Null(),
              ]),
            }),
          ),
        }),
      ),
    },
  ],
  ['GET /openapi.json', { responses: ok(Type.Record(Type.String(), Type.Unknown()), 'This document') }],

  ['GET /v1/archive_policy', { responses: ok(Type.Array(ArchivePolicy)) }],
  ['POST /v1/archive_policy', { responses: created(ArchivePolicy) }],
  ['GET /v1/archive_policy/:name', { responses: ok(ArchivePolicy) }],
  ['PATCH /v1/archive_policy/:name', { responses: ok(ArchivePolicy) }],
  ['DELETE /v1/archive_policy/:name', { responses: noContent }],
  ['GET /v1/archive_policy_rule', { responses: ok(Type.Array(ArchivePolicyRule)) }],
  ['POST /v1/archive_policy_rule', { responses: created(ArchivePolicyRule) }],
  ['GET /v1/archive_policy_rule/:name', { responses: ok(ArchivePolicyRule) }],
  ['PATCH /v1/archive_policy_rule/:name', { responses: ok(ArchivePolicyRule) }],
  ['DELETE /v1/archive_policy_rule/:name', { responses: noContent }],

  ['GET /v1/resource_type', { responses: ok(Type.Array(ResourceType)) }],
  ['POST /v1/resource_type', { responses: created(ResourceType) }],
  ['GET /v1/resource_type/:name', { responses: ok(ResourceType) }],
  ['PATCH /v1/resource_type/:name', { responses: ok(ResourceType) }],
  ['DELETE /v1/resource_type/:name', { responses: noContent }],

  ['POST /v1/metric', { responses: created(Metric) }],
  [
    'GET /v1/metric',
    {
      responses: ok(Type.Array(Metric)),
      query: {
        ...PAGINATION,
        id: text(),
        name: text(),
        unit: text(),
        archive_policy_name: text(),
        creator: text(),
        user_id: text(),
        project_id: text(),
        resource_id: text(),
        status: text(),
      },
    },
  ],
  ['GET /v1/metric/:id', { responses: ok(Metric) }],
  ['DELETE /v1/metric/:id', { responses: noContent }],
  ['GET /v1/metric/:id/measures', measuresRead],
  ['POST /v1/metric/:id/measures', measuresWrite],

  ['GET /v1/resource', { responses: ok(Type.Record(Type.String(), Type.String())) }],
  [
    'GET /v1/resource/:type',
    { responses: ok(Type.Array(SelectedResource)), query: { ...RESOURCE_LIST_QUERY, filter: text() } },
  ],
  ['POST /v1/resource/:type', { responses: created(Resource) }],
  [
    'DELETE /v1/resource/:type',
    { responses: ok(Type.Object({ deleted: Type.Integer() })), query: { filter: text() } },
  ],
  [
    'GET /v1/resource/:type/:id',
    { responses: { ...ok(Resource), '304': { description: 'Not modified (If-None-Match)' } } },
  ],
  ['PATCH /v1/resource/:type/:id', { responses: ok(Resource) }],
  ['DELETE /v1/resource/:type/:id', { responses: noContent }],
  [
    'GET /v1/resource/:type/:id/history',
    { responses: ok(Type.Array(SelectedResource)), query: { ...PAGINATION, attrs: text() } },
  ],
  ['GET /v1/resource/:type/:id/metric', { responses: ok(Type.Array(Metric)) }],
  ['POST /v1/resource/:type/:id/metric', { responses: ok(Type.Array(Metric)) }],
  ['GET /v1/resource/:type/:id/metric/:name', { responses: ok(Metric) }],
  ['DELETE /v1/resource/:type/:id/metric/:name', { responses: noContent }],
  ['GET /v1/resource/:type/:id/metric/:name/measures', measuresRead],
  ['POST /v1/resource/:type/:id/metric/:name/measures', measuresWrite],

  [
    'POST /v1/search/resource/:type',
    {
      responses: ok(Type.Array(SelectedResource)),
      query: { ...RESOURCE_LIST_QUERY, filter: text() },
      body: SearchFilter,
    },
  ],
  [
    'GET /v1/search/resource/:type',
    {
      responses: {
        '405': { description: 'Search is POST only (404 for an unknown type)', schema: GnocchiError },
      },
    },
  ],

  [
    'POST /v1/aggregates',
    {
      responses: ok(Type.Union([AggregatesResult, GroupedAggregatesResult])),
      query: AGGREGATION_QUERY,
      body: AggregatesBody,
    },
  ],
  ['GET /v1/aggregation/metric', legacyAggregation],
  [
    'POST /v1/aggregation/metric',
    {
      responses: ok(Measures),
      query: LEGACY_AGGREGATION_QUERY,
      body: Type.Array(Type.String({ format: 'uuid' }), { description: 'metric ids' }),
    },
  ],
  [
    'POST /v1/aggregation/resource/:type/metric/:name',
    {
      responses: ok(
        Type.Union([
          Measures,
          Type.Array(Type.Object({ group: Type.Record(Type.String(), Type.Unknown()), measures: Measures })),
        ]),
      ),
      query: { ...LEGACY_AGGREGATION_QUERY, filter: text('search filter, string form (without a body)') },
      body: SearchFilter,
    },
  ],
  [
    'POST /v1/search/metric',
    {
      responses: ok(Type.Record(Type.String(), Measures)),
      query: { metric_id: text(), start: text(), stop: text(), granularity: text(), aggregation: text() },
      body: MeasureQuery,
    },
  ],

  [
    'POST /v1/batch/metrics/measures',
    { responses: accepted, body: Type.Record(Type.String(), MeasuresBody) },
  ],
  [
    'POST /v1/batch/resources/metrics/measures',
    {
      responses: accepted,
      query: { create_metrics: text() },
      body: Type.Record(
        Type.String(),
        Type.Record(
          Type.String(),
          Type.Union([
            MeasuresBody,
            Type.Object({
              measures: MeasuresBody,
              archive_policy_name: Type.Optional(Type.String()),
              unit: Type.Optional(Type.String()),
            }),
          ]),
        ),
      ),
    },
  ],

  [
    'GET /v1/influxdb/ping',
    { responses: { '204': { description: 'Alive; the X-Influxdb-Version header names Gnocchi 4.7.1' } } },
  ],
  [
    'POST /v1/influxdb/query',
    {
      responses: {
        '204': { description: 'CREATE DATABASE done: the resource type of that name exists' },
        '501': { description: 'Any other query', schema: GnocchiError },
      },
      query: { q: text('CREATE DATABASE <name> (also accepted form-encoded in the body)') },
    },
  ],
  [
    'POST /v1/influxdb/write',
    {
      responses: { '204': { description: 'Points written as measures' } },
      query: {
        db: text('the resource type (default influxdb)'),
        precision: text('timestamp unit: n (default), u, ms, s, m, h'),
      },
      body: Type.String({ description: 'InfluxDB line protocol' }),
    },
  ],
  [
    'POST /v1/prometheus/write',
    {
      responses: accepted,
      body: Type.String({ description: 'snappy-compressed protobuf WriteRequest', format: 'binary' }),
    },
  ],
]);
