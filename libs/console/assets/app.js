import { ApiError, api, currentSession, setSession } from './api.js';
import { h, newView, table } from './dom.js';
import { aggregatesSeries, alignSeries, cellText, formatValue, partitionRows } from './format.js';
import uPlot from './uPlot.esm.js';

/** @typedef {ReturnType<typeof newView>} Render */

/** What the browser tests read back: the data of the last plot drawn. */
const inspect = {
  plot: /** @type {Array<Array<number|null>> | null} */ (null),
  labels: /** @type {string[]} */ ([]),
};
Object.defineProperty(window, 'granaryConsole', { value: inspect });

/** Fits the plot on screen to the window; one listener, for the latest chart only. */
let resizeChart = () => {};
window.addEventListener('resize', () => resizeChart());

/** The timer of a page that reloads itself (status, plots with auto-refresh); one at a time. */
let reloadTimer = 0;

/** `#/page?x=y` → page name and parameters. */
function route() {
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  return { page: path || 'resources', params: new URLSearchParams(query ?? '') };
}

/** @param {string} page @param {Record<string, string>} params */
function link(page, params = {}) {
  const query = new URLSearchParams(params).toString();
  return `#/${page}${query ? `?${query}` : ''}`;
}

/** @param {unknown} err */
function problem(err) {
  if (err instanceof ApiError && err.status === 401) {
    return h(
      'p',
      { class: 'error' },
      'The API wants credentials: ',
      h('a', { href: '#/login' }, 'sign in'),
      '.',
    );
  }
  return h('p', { class: 'error' }, err instanceof Error ? err.message : String(err));
}

const PAGES = new Map(
  /** @type {Array<[string, (params: URLSearchParams, render: Render) => unknown]>} */ ([
    ['login', loginPage],
    ['resources', resourcesPage],
    ['resource', resourcePage],
    ['plot', plotPage],
    ['aggregates', aggregatesPage],
    ['status', statusPage],
  ]),
);

async function show() {
  clearInterval(reloadTimer);
  const { page, params } = route();
  const session = currentSession();
  /** @type {HTMLElement} */ (document.getElementById('who')).textContent = session
    ? session.label
    : 'not signed in';
  const draw = PAGES.get(page) ?? resourcesPage;
  const render = newView();
  try {
    await draw(params, render);
  } catch (err) {
    render(problem(err));
  }
}

window.addEventListener('hashchange', show);
show();

// --- sign in --------------------------------------------------------------------------------

/**
 * The API's three auth modes: basic (user and password), Keystone (a token), noauth (identity
 * headers). The headers are kept in memory by api.js (ADR 0023).
 */
/** @param {URLSearchParams} _params @param {Render} render */
function loginPage(_params, render) {
  const mode = h(
    'select',
    { name: 'mode' },
    ['basic', 'keystone', 'noauth'].map((m) => h('option', { value: m }, m)),
  );
  const user = h('input', { name: 'user', autocomplete: 'username' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password' });
  const token = h('input', { name: 'token', class: 'wide' });
  const project = h('input', { name: 'project' });
  const roles = h('input', { name: 'roles', value: 'admin' });
  const message = h(
    'p',
    { class: 'muted' },
    'Credentials stay in this tab’s memory; reloading the page forgets them.',
  );
  const value = (/** @type {HTMLElement} */ el) => /** @type {HTMLInputElement} */ (el).value.trim();
  const form = h(
    'form',
    {
      onsubmit: async (/** @type {Event} */ event) => {
        event.preventDefault();
        const chosen = value(mode);
        /** @type {Record<string, string>} */
        const headers = {};
        let label = chosen;
        if (chosen === 'basic') {
          const pair = new TextEncoder().encode(
            `${value(user)}:${/** @type {HTMLInputElement} */ (password).value}`,
          );
          headers.authorization = `Basic ${btoa(String.fromCharCode(...pair))}`;
          label = value(user);
        } else if (chosen === 'keystone') {
          headers['x-auth-token'] = value(token);
          label = 'keystone token';
        } else {
          if (value(user)) headers['x-user-id'] = value(user);
          if (value(project)) headers['x-project-id'] = value(project);
          headers['x-roles'] = value(roles);
          label = value(user) || value(project);
        }
        setSession({ label, headers });
        try {
          await api('v1/resource_type');
          location.hash = link('resources');
        } catch (err) {
          setSession(null);
          message.replaceChildren(problem(err));
        }
      },
    },
    h('label', {}, 'Auth mode', mode),
    h('label', {}, 'User (basic, noauth)', user),
    h('label', {}, 'Password (basic)', password),
    h('label', { class: 'wide' }, 'Token (keystone)', token),
    h('label', {}, 'Project (noauth)', project),
    h('label', {}, 'Roles (noauth)', roles),
    h('button', { type: 'submit' }, 'Sign in'),
  );
  render(h('h1', {}, 'Sign in'), form, message);
}

// --- resources ------------------------------------------------------------------------------

/** @param {URLSearchParams} params @param {Render} render */
async function resourcesPage(params, render) {
  const type = params.get('type') || 'generic';
  const search = params.get('search') ?? '';
  const types = /** @type {Array<{name: string}>} */ (await api('v1/resource_type'));
  const typeSelect = h(
    'select',
    { name: 'type' },
    types.map((t) => h('option', { value: t.name }, t.name)),
  );
  /** @type {HTMLSelectElement} */ (typeSelect).value = type;
  const searchInput = h('input', {
    name: 'search',
    value: search,
    placeholder: "host = 'node-1' and started_at > '2024-01-01'",
  });
  const form = h(
    'form',
    {
      onsubmit: (/** @type {Event} */ event) => {
        event.preventDefault();
        location.hash = link('resources', {
          type: /** @type {HTMLSelectElement} */ (typeSelect).value,
          search: /** @type {HTMLInputElement} */ (searchInput).value,
        });
      },
    },
    h('label', {}, 'Type', typeSelect),
    h('label', { class: 'wide' }, 'Filter (Gnocchi’s filter language)', searchInput),
    h('button', { type: 'submit' }, 'Search'),
  );
  render(h('h1', {}, 'Resources'), form, h('p', { class: 'muted' }, 'Searching…'));
  let resources;
  try {
    resources = search
      ? await api(`v1/search/resource/${encodeURIComponent(type)}`, {
          method: 'POST',
          query: { filter: search, limit: '200' },
        })
      : await api(`v1/resource/${encodeURIComponent(type)}`, { query: { limit: '200' } });
  } catch (err) {
    render(h('h1', {}, 'Resources'), form, problem(err));
    return;
  }
  const rows = /** @type {any[]} */ (resources).map((r) => [
    h('a', { href: link('resource', { type: r.type, id: r.id }) }, r.id),
    cellText(r.original_resource_id),
    r.type,
    cellText(r.started_at),
    Object.keys(r.metrics ?? {}).length,
  ]);
  render(
    h('h1', {}, 'Resources'),
    form,
    h('p', { class: 'muted' }, `${rows.length} resource(s)${rows.length === 200 ? ' (first 200)' : ''}`),
    table(['id', 'original id', 'type', 'started', 'metrics'], rows),
  );
}

/** @param {URLSearchParams} params @param {Render} render */
async function resourcePage(params, render) {
  const type = params.get('type') || 'generic';
  const id = params.get('id') ?? '';
  const path = `v1/resource/${encodeURIComponent(type)}/${encodeURIComponent(id)}`;
  const [resource, history] = await Promise.all([api(path), api(`${path}/history`)]);
  const metrics = Object.entries(/** @type {Record<string, string>} */ (resource.metrics ?? {})).sort(
    ([a], [b]) => a.localeCompare(b),
  );
  const boxes = metrics.map(([name, metricId]) =>
    h('input', { type: 'checkbox', value: metricId, 'data-name': name }),
  );
  const plotSelected = h(
    'button',
    {
      type: 'button',
      onclick: () => {
        const chosen = boxes
          .filter((box) => /** @type {HTMLInputElement} */ (box).checked)
          .map((box) => /** @type {HTMLInputElement} */ (box).value);
        if (chosen.length > 0) location.hash = link('plot', { metric: chosen.join(',') });
      },
    },
    'Plot selected together',
  );
  const attributes = Object.entries(resource).filter(([name]) => name !== 'metrics');
  render(
    h('h1', {}, `${type} ${resource.original_resource_id ?? id}`),
    h('h2', {}, 'Metrics'),
    table(
      ['', 'name', 'id'],
      metrics.map(([name, metricId], i) => [
        boxes[i],
        h('a', { href: link('plot', { metric: metricId }) }, name),
        metricId,
      ]),
    ),
    plotSelected,
    h('h2', {}, 'Attributes'),
    table(
      ['attribute', 'value'],
      attributes.map(([name, value]) => [name, cellText(value)]),
    ),
    h('h2', {}, 'History'),
    table(
      ['revision start', 'revision end', 'changed attributes'],
      /** @type {any[]} */ (history).map((revision, i, all) => [
        cellText(revision.revision_start),
        cellText(revision.revision_end),
        i === 0 ? 'created' : changedAttributes(all[i - 1], revision).join(', ') || '—',
      ]),
    ),
  );
}

/** @param {Record<string, unknown>} before @param {Record<string, unknown>} after */
function changedAttributes(before, after) {
  const ignored = new Set(['revision_start', 'revision_end', 'metrics']);
  return Object.keys(after).filter(
    (name) => !ignored.has(name) && JSON.stringify(before[name]) !== JSON.stringify(after[name]),
  );
}

// --- plots ----------------------------------------------------------------------------------

const AGGREGATIONS = ['mean', 'min', 'max', 'sum', 'count', 'last', 'first', 'median', 'std', 'rate:mean'];
const RANGES = [
  ['', 'everything'],
  ['-1h', 'last hour'],
  ['-6h', 'last 6 hours'],
  ['-1d', 'last day'],
  ['-7d', 'last week'],
];
const RELOADS = [
  ['0', 'no auto-reload'],
  ['10', 'every 10 s'],
  ['60', 'every minute'],
];

/**
 * A picker whose options are [value, label] pairs, set to `current`.
 * @param {string} name @param {Array<string|string[]>} options @param {string} current
 */
function picker(name, options, current) {
  const select = h(
    'select',
    { name },
    options.map((o) =>
      Array.isArray(o) ? h('option', { value: o[0] }, o[1]) : h('option', { value: o }, o),
    ),
  );
  /** @type {HTMLSelectElement} */ (select).value = current;
  return select;
}

/**
 * Draw series with uPlot (drag to zoom, double-click to zoom out) into a fresh element.
 * @param {string[]} labels @param {Array<Array<number|null>>} data
 */
function chart(labels, data) {
  inspect.plot = data;
  inspect.labels = labels;
  const element = h('div', { class: 'chart' });
  const colours = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
  const width = () =>
    Math.max(280, Math.min(1200, (document.getElementById('page')?.clientWidth ?? 800) - 20));
  const plot = new uPlot(
    {
      width: width(),
      height: 320,
      series: [
        {},
        ...labels.map((label, i) => ({ label, stroke: colours[i % colours.length], spanGaps: false })),
      ],
      cursor: { drag: { x: true, y: false } },
    },
    /** @type {any} */ (data),
    element,
  );
  resizeChart = () => plot.setSize({ width: width(), height: 320 });
  return element;
}

/** @param {URLSearchParams} params @param {Render} render */
async function plotPage(params, render) {
  const metricIds = (params.get('metric') ?? '').split(',').filter(Boolean);
  const choices = {
    aggregation: params.get('aggregation') || 'mean',
    granularity: params.get('granularity') ?? '',
    start: params.get('start') ?? '-1d',
    stop: params.get('stop') ?? '',
    refresh: params.get('refresh') ?? 'false',
    reload: params.get('reload') ?? '0',
  };
  const inputs = {
    metric: h('input', {
      name: 'metric',
      class: 'wide',
      value: metricIds.join(','),
      placeholder: 'metric ids, comma-separated',
    }),
    aggregation: picker('aggregation', AGGREGATIONS, choices.aggregation),
    granularity: h('input', {
      name: 'granularity',
      value: choices.granularity,
      placeholder: 'seconds (all)',
    }),
    start: picker('start', RANGES, choices.start),
    stop: h('input', { name: 'stop', value: choices.stop, placeholder: 'now' }),
    refresh: picker(
      'refresh',
      [
        ['false', 'stored points'],
        ['true', 'refresh=true'],
      ],
      choices.refresh,
    ),
    reload: picker('reload', RELOADS, choices.reload),
  };
  const form = h(
    'form',
    {
      onsubmit: (/** @type {Event} */ event) => {
        event.preventDefault();
        /** @type {Record<string, string>} */
        const next = {};
        for (const [name, input] of Object.entries(inputs))
          next[name] = /** @type {HTMLInputElement} */ (input).value.trim();
        location.hash = link('plot', next);
      },
    },
    h('label', { class: 'wide' }, 'Metrics', inputs.metric),
    h('label', {}, 'Aggregation', inputs.aggregation),
    h('label', {}, 'Granularity', inputs.granularity),
    h('label', {}, 'Time range', inputs.start),
    h('label', {}, 'Stop', inputs.stop),
    h('label', {}, 'Processing', inputs.refresh),
    h('label', {}, 'Reload', inputs.reload),
    h('button', { type: 'submit' }, 'Plot'),
  );
  if (metricIds.length === 0) {
    render(
      h('h1', {}, 'Plot'),
      form,
      h('p', { class: 'muted' }, 'Choose metrics on a resource’s page, or paste metric ids.'),
    );
    return;
  }
  const draw = async () => {
    const metrics = await Promise.all(metricIds.map((id) => api(`v1/metric/${encodeURIComponent(id)}`)));
    const query = {
      aggregation: choices.aggregation,
      granularity: choices.granularity,
      start: choices.start,
      stop: choices.stop,
      refresh: choices.refresh === 'true' ? 'true' : undefined,
    };
    const measures = await Promise.all(
      metricIds.map((id) => api(`v1/metric/${encodeURIComponent(id)}/measures`, { query })),
    );
    const labels = metrics.map(
      (metric) => `${metric.name ?? metric.id}${metric.unit ? ` (${metric.unit})` : ''}`,
    );
    const data = alignSeries(measures);
    render(
      h('h1', {}, 'Plot'),
      form,
      h(
        'p',
        { class: 'muted' },
        `${data[0]?.length ?? 0} point(s); drag across the plot to zoom, double-click to zoom out.`,
      ),
      chart(labels, data),
      table(
        ['metric', 'id', 'points', 'last value'],
        metrics.map((metric, i) => [
          labels[i],
          h('a', { href: link('plot', { metric: metric.id }) }, metric.id),
          measures[i].length,
          formatValue(measures[i].at(-1)?.[2] ?? null),
        ]),
      ),
    );
  };
  await draw();
  const seconds = Number(choices.reload);
  if (seconds > 0)
    reloadTimer = window.setInterval(() => draw().catch((err) => render(problem(err))), seconds * 1000);
}

// --- aggregates -----------------------------------------------------------------------------

/** @param {URLSearchParams} params @param {Render} render */
async function aggregatesPage(params, render) {
  const inputs = {
    operations: h('textarea', {
      name: 'operations',
      value: params.get('operations') ?? '(aggregate mean (metric cpu_util mean))',
    }),
    resource_type: h('input', { name: 'resource_type', value: params.get('resource_type') ?? 'generic' }),
    search: h('input', {
      name: 'search',
      class: 'wide',
      value: params.get('search') ?? '',
      placeholder: "filter, e.g. host = 'node-1' (none: metric ids in the expression)",
    }),
    granularity: h('input', { name: 'granularity', value: params.get('granularity') ?? '' }),
    start: picker('start', RANGES, params.get('start') ?? '-1d'),
    groupby: h('input', {
      name: 'groupby',
      value: params.get('groupby') ?? '',
      placeholder: 'attribute(s), comma-separated',
    }),
  };
  const value = (/** @type {string} */ name) =>
    /** @type {HTMLInputElement} */ (inputs[/** @type {keyof typeof inputs} */ (name)]).value.trim();
  const form = h(
    'form',
    {
      onsubmit: (/** @type {Event} */ event) => {
        event.preventDefault();
        /** @type {Record<string, string>} */
        const next = {};
        for (const name of Object.keys(inputs)) next[name] = value(name);
        next.run = String(Date.now());
        location.hash = link('aggregates', next);
      },
    },
    h('label', { class: 'wide' }, 'Operations (Gnocchi’s aggregates expression)', inputs.operations),
    h('label', {}, 'Resource type', inputs.resource_type),
    h('label', { class: 'wide' }, 'Resource filter', inputs.search),
    h('label', {}, 'Granularity', inputs.granularity),
    h('label', {}, 'Time range', inputs.start),
    h('label', {}, 'Group by', inputs.groupby),
    h('button', { type: 'submit' }, 'Run'),
  );
  if (!params.get('run')) {
    render(h('h1', {}, 'Aggregates'), form);
    return;
  }
  const search = value('search');
  const groupby = value('groupby')
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean);
  let body;
  try {
    const query = new URLSearchParams({ details: 'false' });
    if (value('granularity')) query.set('granularity', value('granularity'));
    if (value('start')) query.set('start', value('start'));
    for (const g of groupby) query.append('groupby', g);
    body = await api(`v1/aggregates?${query}`, {
      method: 'POST',
      body: {
        operations: value('operations'),
        ...(search ? { resource_type: value('resource_type'), search } : {}),
      },
    });
  } catch (err) {
    render(h('h1', {}, 'Aggregates'), form, problem(err));
    return;
  }
  const groups = Array.isArray(body) ? body : [{ group: null, measures: body }];
  const series = groups.flatMap((group) =>
    aggregatesSeries(group.measures ?? group).map((s) => ({
      ...s,
      label: group.group ? `${JSON.stringify(group.group)} ${s.label}` : s.label,
    })),
  );
  render(
    h('h1', {}, 'Aggregates'),
    form,
    series.length === 0
      ? h('p', { class: 'muted' }, 'No series in the result.')
      : chart(
          series.map((s) => s.label),
          alignSeries(series.map((s) => s.measures)),
        ),
    h('pre', {}, JSON.stringify(body, null, 1).slice(0, 20000)),
  );
}

// --- status ---------------------------------------------------------------------------------

/**
 * Lag per consumer group, and what the live processors and ingest members published of themselves
 * (absent from a status without details; `members` null while the API cannot read Redis).
 * @param {any} granary
 */
function memberSections(granary) {
  if (!granary) return [];
  /** @type {{ group: string, topic: string, lag: number }[]} */
  const groups = granary.consumer_groups ?? [];
  /** @type {{ code: string, count: number }[]} */
  const deadLetters = granary.dead_letters ?? [];
  /** @type {{ member: string, metric_id: string, partition: number, phase: string, since: string }[]} */
  const rebuilds = granary.rebuilds ?? [];
  /** @type {{ service: string, member: string, updated_at: string, dead_letters: { code: string, count: number }[], points_dropped_too_old: number }[] | null} */
  const members = granary.members;
  return [
    h('h2', {}, 'Consumer lag per group'),
    table(
      ['group', 'topic', 'lag'],
      groups.map((g) => [g.group, g.topic, g.lag]),
    ),
    h('h2', {}, 'Dead letters by error code'),
    h(
      'div',
      { 'data-testid': 'dead-letters' },
      members === null
        ? h('p', { class: 'muted' }, 'Member statuses cannot be read (Redis unreachable).')
        : deadLetters.length === 0
          ? h('p', { class: 'muted' }, 'No record dead-lettered by a live member.')
          : table(
              ['error code', 'records'],
              deadLetters.map((d) => [d.code, d.count]),
            ),
    ),
    h('h2', {}, 'Points dropped as too old'),
    h(
      'p',
      { 'data-testid': 'dropped-too-old' },
      `${granary.points_dropped_too_old ?? 0} point(s), outside their metric's back window.`,
    ),
    h('h2', {}, 'Rebuilds in progress'),
    rebuilds.length === 0
      ? h('p', { class: 'muted' }, 'None.')
      : table(
          ['metric', 'partition', 'phase', 'since', 'processor'],
          rebuilds.map((r) => [r.metric_id, r.partition, r.phase, r.since, r.member]),
        ),
    h('h2', {}, 'Members'),
    table(
      ['service', 'member', 'updated', 'dead letters', 'dropped too old'],
      (members ?? []).map((m) => [
        m.service,
        m.member,
        m.updated_at,
        m.dead_letters.map((d) => `${d.code}: ${d.count}`).join(', '),
        m.points_dropped_too_old,
      ]),
    ),
  ];
}

/** @param {URLSearchParams} _params @param {Render} render */
async function statusPage(_params, render) {
  const draw = async () => {
    const status = await api('v1/status');
    const rows = partitionRows(status);
    const processors = /** @type {string[]} */ (status.metricd?.processors ?? []);
    render(
      h('h1', {}, 'Status'),
      h('p', { class: 'muted' }, `Updated ${new Date().toLocaleTimeString()}; reloads every 2 s.`),
      h('h2', {}, 'Processors'),
      table(
        ['processor', 'partitions owned'],
        processors.map((p) => [
          p,
          rows
            .filter((r) => r.owner === p)
            .map((r) => r.partition)
            .join(', '),
        ]),
      ),
      h('h2', {}, 'Partitions of the measures topic'),
      h(
        'p',
        { class: 'muted' },
        `${status.storage?.summary?.measures ?? 0} measure batch(es) waiting in ${status.storage?.summary?.partitions ?? 0} partition(s).`,
      ),
      table(
        ['partition', 'owner', 'lag', 'checkpoint offset'],
        rows.map((r) => [r.partition, r.owner, r.lag, r.checkpoint]),
      ),
      memberSections(status.granary),
    );
  };
  await draw();
  reloadTimer = window.setInterval(() => draw().catch((err) => render(problem(err))), 2000);
}
