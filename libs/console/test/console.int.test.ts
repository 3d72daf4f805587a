import { mkdirSync } from 'node:fs';
import { type Server, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { RunningProcessor } from '@granary/app-processor';
import { BatchingProducer, createKafkaClient } from '@granary/kafka';
import { type ReadStack, adminHeaders, callApi, startReadStack, until } from '@granary/testing/api-stack';
import { infra } from '@granary/testing/infra';
import { ensureChromium } from '@granary/testing/services';
import { PROJECT_ROOT } from '@granary/testing/settings';
import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ARTIFACTS = join(PROJECT_ROOT, '.granary', 'test-artifacts', 'console');
/** Resource attributes are user input: this one would run a script if the console wrote markup. */
const HOSTILE = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
/** Metric names are user input too (no `/` allowed in them). */
const HOSTILE_METRIC = '<img src=x onerror="window.__xss=3">';

let stack: ReadStack;
let browser: Browser;
let page: Page;
const processors: RunningProcessor[] = [];
let resourceId = '';
let metricId = '';

async function signIn(): Promise<void> {
  await page.goto(`${stack.api.url}/ui#/login`);
  await page.fill('input[name=user]', 'admin');
  await page.click('button[type=submit]');
  await page.waitForURL(/#\/resources/);
}

/**
 * A reverse proxy mounting the API at `/granary/` (prefix stripped, as nginx's `proxy_pass` with a
 * trailing slash does): the console must work there without knowing the prefix.
 */
async function startPrefixProxy(target: string): Promise<{ url: string; server: Server }> {
  const upstream = new URL(target);
  const server = createServer((incoming, outgoing) => {
    if (!incoming.url?.startsWith('/granary/')) {
      outgoing.writeHead(404).end();
      return;
    }
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url.slice('/granary'.length),
        headers: { ...incoming.headers, 'x-forwarded-prefix': '/granary' },
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    incoming.pipe(forwarded);
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/granary`, server };
}

/** The last plot's data as uPlot holds it (`[xs, ...ys]`), which the console exposes for tests. */
const plotted = () => page.evaluate<(number | null)[][]>('granaryConsole.plot');

const shoot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

describe('the console at /ui in a real Chromium', () => {
  beforeAll(async () => {
    const executablePath = ensureChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startReadStack('console');
    processors.push(await stack.startProcessor(200), await stack.startProcessor(200));
    const created = await callApi(stack, 'POST', '/v1/resource/generic', {
      id: 'console-host-1',
      user_id: HOSTILE,
      metrics: {
        'cpu.util': { archive_policy_name: 'low' },
        [HOSTILE_METRIC]: { archive_policy_name: 'low' },
      },
    });
    expect(created.status).toBe(201);
    const resource = created.body as { id: string; metrics: Record<string, string> };
    resourceId = resource.id;
    metricId = resource.metrics['cpu.util']!;
    const start = Date.UTC(2026, 0, 1, 10, 0, 0);
    const measures = Array.from({ length: 12 }, (_, i) => ({
      timestamp: new Date(start + i * 300_000).toISOString(),
      value: (i * 7) % 10,
    }));
    expect((await callApi(stack, 'POST', `/v1/metric/${metricId}/measures`, measures)).status).toBe(202);
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await signIn();
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('serves the page with a CSP under a relative redirect, so a proxy prefix is kept', async () => {
    const redirect = await fetch(`${stack.api.url}/ui`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('ui/');
    const index = await fetch(`${stack.api.url}/ui/`);
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await index.text()).toContain('<main id="page">');
  });

  it('lists resources and shows hostile attributes as text', async () => {
    await page.goto(
      `${stack.api.url}/ui/#/resources?type=generic&search=${encodeURIComponent(`id = '${resourceId}'`)}`,
    );
    await page.getByRole('link', { name: resourceId }).click();
    await page.waitForSelector('h2:text("Attributes")');
    await expect.poll(() => page.locator('td', { hasText: HOSTILE }).count()).toBeGreaterThan(0);
    expect(await page.getByRole('link', { name: HOSTILE_METRIC }).count()).toBe(1);
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator('main img').count()).toBe(0);
    await shoot('resource');
  });

  it('plots a series whose points are the API’s', async () => {
    let expected: [string, number, number][] = [];
    await until(async () => {
      const answer = await callApi(
        stack,
        'GET',
        `/v1/metric/${metricId}/measures?granularity=300&refresh=true`,
      );
      expected = answer.body as [string, number, number][];
      return answer.status === 200 && expected.length === 12;
    });
    await page.goto(
      `${stack.api.url}/ui/#/plot?metric=${metricId}&aggregation=mean&granularity=300&start=2026-01-01T00:00:00`,
    );
    await page.waitForSelector('.chart canvas');
    const shown = await plotted();
    expect(shown).toEqual([
      expected.map(([timestamp]) => Date.parse(timestamp) / 1000),
      expected.map(([, , value]) => value),
    ]);
    await shoot('plot');
  });

  it('overlays metrics chosen on the resource page, aligned on their timestamps', async () => {
    const memory = await callApi(stack, 'POST', `/v1/resource/generic/${resourceId}/metric`, {
      'mem.used': { archive_policy_name: 'low' },
    });
    expect(memory.status).toBe(200);
    const at = (hhmm: string) => `2026-01-01T${hhmm}:00+00:00`;
    const posted = await callApi(
      stack,
      'POST',
      `/v1/resource/generic/${resourceId}/metric/mem.used/measures`,
      [
        { timestamp: at('10:30'), value: 100 },
        { timestamp: at('11:00'), value: 110 },
        { timestamp: at('12:00'), value: 120 },
      ],
    );
    expect(posted.status).toBe(202);
    await until(async () => {
      const answer = await callApi(
        stack,
        'GET',
        `/v1/resource/generic/${resourceId}/metric/mem.used/measures?granularity=300&refresh=true`,
      );
      return (answer.body as unknown[]).length === 3;
    });
    // Not the address the first test left the page at: the same hash would not draw the page again.
    await page.goto(`${stack.api.url}/ui/#/resource?id=${resourceId}&type=generic`);
    await page.locator('input[data-name="cpu.util"]').check();
    await page.locator('input[data-name="mem.used"]').check();
    await page.getByRole('button', { name: 'Plot selected together' }).click();
    await page.waitForSelector('.chart canvas');
    await page.selectOption('select[name=start]', '');
    await page.fill('input[name=granularity]', '300');
    await page.getByRole('button', { name: 'Plot' }).click();
    await expect
      .poll(() => page.evaluate<string[]>('granaryConsole.labels'))
      .toEqual(['cpu.util', 'mem.used']);
    await expect
      .poll(() => plotted())
      .toEqual([
        [
          ...Array.from({ length: 12 }, (_, i) => Date.UTC(2026, 0, 1, 10, 5 * i) / 1000),
          Date.UTC(2026, 0, 1, 11) / 1000,
          Date.UTC(2026, 0, 1, 12) / 1000,
        ],
        [...Array.from({ length: 12 }, (_, i) => (i * 7) % 10), null, null],
        [...Array.from({ length: 12 }, (_, i) => (i === 6 ? 100 : null)), 110, 120],
      ]);
    await shoot('overlay');
  });

  it('plots a /v1/aggregates expression as the API computes it', async () => {
    const operations = `(aggregate max (metric ${metricId} mean))`;
    const answer = await fetch(`${stack.api.url}/v1/aggregates?details=false&granularity=300`, {
      method: 'POST',
      headers: adminHeaders,
      body: JSON.stringify({ operations }),
    });
    const expected = ((await answer.json()) as { measures: { aggregated: [string, number, number][] } })
      .measures.aggregated;
    expect(expected).toHaveLength(12);
    await page.goto(`${stack.api.url}/ui/#/aggregates`);
    await page.fill('textarea[name=operations]', operations);
    await page.fill('input[name=granularity]', '300');
    await page.selectOption('select[name=start]', '');
    await page.click('button[type=submit]');
    await page.waitForSelector('.chart canvas');
    const shown = await plotted();
    expect(shown).toEqual([
      expected.map(([timestamp]) => Date.parse(timestamp) / 1000),
      expected.map(([, , value]) => value),
    ]);
    await shoot('aggregates');
  });

  it('works behind a proxy that mounts the API under a path prefix, on a phone-sized screen', async () => {
    const proxy = await startPrefixProxy(stack.api.url);
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    try {
      await phone.goto(`${proxy.url}/ui`);
      expect(new URL(phone.url()).pathname).toBe('/granary/ui/');
      await phone.goto(`${proxy.url}/ui/#/login`);
      await phone.fill('input[name=user]', 'admin');
      await phone.click('button[type=submit]');
      await phone.waitForURL(/#\/resources/);
      await phone.getByRole('link', { name: resourceId }).waitFor();
      // Nothing wider than the screen but the tables, which scroll in their own box.
      expect(await phone.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      await phone.screenshot({ path: join(ARTIFACTS, 'phone-behind-prefix.png'), fullPage: true });
    } finally {
      await phone.close();
      proxy.server.close();
    }
  });

  it('shows a poisoned record as a dead letter by its code, on /v1/status and on the page', async () => {
    const kafka = createKafkaClient({ brokers: infra().kafkaBrokers, clientId: 'console-poison' });
    const producer = new BatchingProducer(kafka.createSender());
    await producer.connect();
    // No magic byte: the processor cannot even find the writer schema.
    await producer.send([{ topic: stack.topic, key: metricId, value: Buffer.from('not a measure batch') }]);
    await producer.close();
    const details = async () =>
      (await callApi(stack, 'GET', '/v1/status?details=true')).body as {
        granary: { dead_letters: unknown[]; consumer_groups: { topic: string }[] };
      };
    await expect
      .poll(async () => (await details()).granary.dead_letters, { timeout: 60_000, interval: 1000 })
      .toEqual([{ code: 'SCHEMA_CORRUPT_RECORD', count: 1 }]);
    expect((await details()).granary.consumer_groups.map((g) => g.topic)).toContain(stack.topic);
    await page.goto(`${stack.api.url}/ui/#/status`);
    await expect
      .poll(() => page.getByTestId('dead-letters').locator('tbody td').allTextContents(), { timeout: 30_000 })
      .toEqual(['SCHEMA_CORRUPT_RECORD', '1']);
    await shoot('status-dead-letter');
  });

  it('shows a stopped processor’s partitions moving to the other', async () => {
    await page.goto(`${stack.api.url}/ui/#/status`);
    const ownersShown = async () =>
      new Set(await page.locator('table').nth(1).locator('tbody tr td:nth-child(2)').allTextContents());
    await expect.poll(async () => (await ownersShown()).size, { timeout: 60_000 }).toBe(2);
    const before = [...(await ownersShown())];
    expect(before).not.toContain('—');
    await shoot('status-two-processors');
    await processors[0]!.stop();
    // Both partitions end with one of the two members of before; while the group rebalances the
    // page shows them unowned (—), which the poll waits through.
    await expect
      .poll(async () => [...(await ownersShown())], { timeout: 90_000, interval: 1000 })
      .toEqual([expect.toSatisfy((owner: string) => before.includes(owner))]);
    await expect.poll(() => page.locator('table').first().locator('tbody tr').count()).toBe(1);
    await shoot('status-one-processor');
  });
});
