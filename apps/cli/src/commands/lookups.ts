import { callApi, isApiStatus } from '../api-client.ts';
import { defineCommand } from '../command.ts';
import { cliErrors } from '../errors.ts';
import { textTable } from '../output.ts';

interface Resource {
  id: string;
  type: string;
  original_resource_id: string | null;
  started_at: string | null;
  metrics: Record<string, string>;
}

type Measure = [timestamp: string, granularity: number, value: number | null];

const RESOURCES_LIMIT = '1000';

export const resources = defineCommand({
  path: ['resources'],
  summary: 'list resources of a type from the REST API, optionally filtered',
  description: [
    "--search takes Gnocchi's filter language, e.g.",
    `  granary resources --type host --search "original_resource_id = '$(hostname)'"`,
    'The API and credentials come from the apiClient section (GRANARY_API_CLIENT__URL, __USER,',
    "__PASSWORD or __TOKEN); the defaults are `make run`'s. At most 1000 resources are listed.",
  ].join('\n'),
  options: {
    type: { type: 'string', valueName: '<type>', description: 'resource type (default generic: every type)' },
    search: {
      type: 'string',
      valueName: '<filter>',
      description: 'Gnocchi filter, e.g. "host = \'node-1\'"',
    },
  },
  async run({ options }, { config }) {
    const type = encodeURIComponent(options.type ?? 'generic');
    const found = (await callApi(
      config().apiClient,
      options.search === undefined
        ? { path: `v1/resource/${type}`, query: { limit: RESOURCES_LIMIT } }
        : {
            method: 'POST',
            path: `v1/search/resource/${type}`,
            query: { filter: options.search, limit: RESOURCES_LIMIT },
          },
    )) as Resource[];
    return { json: found, text: renderResources(found) };
  },
});

export function renderResources(found: readonly Resource[]): string {
  if (found.length === 0) return 'no resources';
  return textTable([
    ['id', 'type', 'original id', 'started', 'metrics'],
    ...found.map((r) => [
      r.id,
      r.type,
      r.original_resource_id ?? '-',
      r.started_at ?? '-',
      Object.keys(r.metrics).sort().join(',') || '-',
    ]),
  ]).join('\n');
}

export const measures = defineCommand({
  path: ['measures'],
  summary: "a resource's metric as a table of measures, from the REST API",
  description: [
    'The resource is its id or its original id (a host name, an instance UUID), e.g.',
    '  granary measures "$(hostname)" hardware.cpu.util --refresh',
    'Options are those of Gnocchi\'s measures endpoint; --start/--stop take ISO 8601 or "-1h".',
  ].join('\n'),
  positionals: [
    { name: '<resource>', description: 'resource id or original id' },
    { name: '<metric>', description: 'metric name on that resource' },
  ],
  options: {
    aggregation: { type: 'string', valueName: '<method>', description: 'mean (default), max, rate:mean, …' },
    granularity: { type: 'string', valueName: '<seconds>', description: 'only this granularity' },
    start: { type: 'string', valueName: '<time>', description: 'first timestamp' },
    stop: { type: 'string', valueName: '<time>', description: 'timestamp after the last' },
    refresh: { type: 'boolean', description: 'have the processor checkpoint pending measures first' },
  },
  async run({ options, positionals }, { config }) {
    const [resourceArgument, metric] = positionals as [string, string];
    const api = config().apiClient;
    const resource = await findResource(api, resourceArgument);
    const points = (await callApi(api, {
      path: `v1/resource/generic/${encodeURIComponent(resource.id)}/metric/${encodeURIComponent(metric)}/measures`,
      query: {
        aggregation: options.aggregation,
        granularity: options.granularity,
        start: options.start,
        stop: options.stop,
        refresh: options.refresh ? 'true' : undefined,
      },
    })) as Measure[];
    return {
      json: points,
      text: renderMeasures(points),
    };
  },
});

export function renderMeasures(points: readonly Measure[]): string {
  if (points.length === 0) return 'no measures';
  return textTable([
    ['timestamp', 'granularity', 'value'],
    ...points.map(([timestamp, granularity, value]) => [
      timestamp,
      String(granularity),
      String(value ?? '-'),
    ]),
  ]).join('\n');
}

/** The resource whose id is `given`, else the one whose original id is. */
async function findResource(api: Parameters<typeof callApi>[0], given: string): Promise<Resource> {
  try {
    return (await callApi(api, { path: `v1/resource/generic/${encodeURIComponent(given)}` })) as Resource;
  } catch (err) {
    if (!isApiStatus(err, 404) && !isApiStatus(err, 400)) throw err;
  }
  const matches = (await callApi(api, {
    method: 'POST',
    path: 'v1/search/resource/generic',
    body: { '=': { original_resource_id: given } },
  })) as Resource[];
  if (matches.length === 0) throw cliErrors('CLI_RESOURCE_NOT_FOUND', given);
  if (matches.length > 1) {
    throw cliErrors(
      'CLI_RESOURCE_AMBIGUOUS',
      `${given}: ${matches.map((r) => `${r.id} (${r.type})`).join(', ')}`,
    );
  }
  return matches[0]!;
}
