import { readFileSync } from 'node:fs';
import { provisionTopics } from '@granary/kafka';
import { type TestServer, startTestServer } from '@granary/testing/http-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type PollerProcess,
  type ReadSample,
  type SampleReader,
  eventually,
  infraConfig,
  pollingFile,
  readSamples,
  spawnPoller,
  testKafka,
  uniqueName,
} from './support.ts';

const RESOURCES = 300;
/** Longer than the session timeout plus a rebalance, so ownership settles within one interval. */
const INTERVAL_SECONDS = 15;

type Cycle = { timestamp: number; resources: string[] };

/** The resources of each replica's cycles (one prometheus run per cycle, one timestamp per run). */
function cyclesByReplica(samples: readonly ReadSample[], after: number): Map<string, Cycle[]> {
  const cycles = new Map<string, Map<number, string[]>>();
  for (const { replica, sample } of samples) {
    if (sample.timestamp <= after) continue;
    const byTime = cycles.get(replica) ?? new Map<number, string[]>();
    cycles.set(replica, byTime);
    const resource = JSON.parse(sample.resource_metadata).resource_url as string;
    byTime.set(sample.timestamp, [...(byTime.get(sample.timestamp) ?? []), resource]);
  }
  return new Map(
    [...cycles].map(([replica, byTime]) => [
      replica,
      [...byTime].sort(([a], [b]) => a - b).map(([timestamp, resources]) => ({ timestamp, resources })),
    ]),
  );
}

/** How many replicas polled each resource, in the cycle `pick` chooses of each replica. */
function pollCounts(
  cycles: Map<string, Cycle[]>,
  pick: (own: Cycle[]) => Cycle | undefined,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (const own of cycles.values()) {
    for (const resource of pick(own)?.resources ?? []) counts.set(resource, (counts.get(resource) ?? 0) + 1);
  }
  return counts;
}

const eachPolledOnce = (counts: Map<string, number>) =>
  counts.size === RESOURCES && [...counts.values()].every((n) => n === 1);

describe('poller scale-out through a consumer group', () => {
  let server: TestServer;
  let reader: SampleReader;
  const replicas: PollerProcess[] = [];

  beforeAll(async () => {
    server = await startTestServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`# TYPE up gauge\nup{target="${req.url}"} 1\n`);
    });
  });
  afterAll(async () => {
    for (const replica of replicas) replica.process.kill('SIGTERM');
    await Promise.all(replicas.map((replica) => replica.exited));
    await reader?.stop();
    await server?.close();
  });

  it('three replicas poll 300 resources exactly once each; one killed or one joining moves work without double polls or gaps', async () => {
    const urls = Array.from({ length: RESOURCES }, (_, i) => `${server.url}/r/${i}`);
    const polling = pollingFile(
      [
        'sources:',
        '  - name: fleet',
        `    interval: ${INTERVAL_SECONDS}`,
        '    meters: ["prometheus"]',
        '    resources:',
        ...urls.map((u) => `      - "${u}"`),
      ].join('\n'),
    );
    const samplesTopic = uniqueName('samples');
    // The coordination topic predates the configuration and has fewer partitions than it says:
    // ownership must hash over the partitions the cluster really has, or some would have no owner.
    const coordinationTopic = uniqueName('coordination');
    const spec = { replicationFactor: 1, retentionMs: 3_600_000, cleanupPolicy: 'delete' as const };
    const admin = testKafka().createAdmin();
    await admin.connect();
    try {
      await provisionTopics(admin, [{ ...spec, name: coordinationTopic, partitions: 8 }]);
    } finally {
      await admin.disconnect();
    }
    const config = {
      ...infraConfig(samplesTopic),
      poller: {
        pollingFile: polling,
        telemetrySecret: 'scale-out',
        coordination: {
          enabled: true,
          groupId: uniqueName('pollers'),
          topic: { ...spec, name: coordinationTopic, partitions: 32 },
          sessionTimeoutMs: 6000,
        },
      },
    };
    for (let i = 0; i < 3; i++) replicas.push(spawnPoller(`replica-${i}`, config, polling));
    const logs = () => replicas.map((r) => readFileSync(r.log, 'utf8')).join('\n');
    for (const replica of replicas) {
      void replica.exited.then(({ code, signal }) => {
        if (code !== 0 && signal !== 'SIGKILL') console.error(`replica exited (${code}):\n${logs()}`);
      });
    }

    // The topic appears when the first replica has provisioned it.
    await eventually(async () => {
      try {
        reader = await readSamples(samplesTopic);
        return true;
      } catch {
        return false;
      }
    }, 1000);

    // Steady state: every resource polled by exactly one of the three replicas. A replica's
    // next-to-last cycle is complete once the reader has caught up (cycles never overlap).
    let steady = new Map<string, Cycle[]>();
    await eventually(async () => {
      await reader.catchUp();
      steady = cyclesByReplica(reader.samples, 0);
      return (
        steady.size === 3 &&
        [...steady.values()].every((own) => own.length >= 2) &&
        eachPolledOnce(pollCounts(steady, (own) => own.at(-2)))
      );
    }, 1000);
    expect([...steady.values()].every((own) => own.at(-2)!.resources.length > 0)).toBe(true);

    // Kill one replica outright (no leave-group): the group notices by its session timeout.
    const victim = replicas[0]!;
    const killedAt = Date.now() * 1000;
    victim.process.kill('SIGKILL');
    await victim.exited;

    const survivors = await afterChange(killedAt, 2);
    expect([...survivors].every((name) => steady.has(name))).toBe(true);

    // A new replica joins: the group hands it a share, under the same guarantees.
    const joinedAt = Date.now() * 1000;
    replicas.push(spawnPoller('replica-3', config, polling));
    const members = await afterChange(joinedAt, 3);
    expect([...members].filter((name) => !survivors.has(name))).toHaveLength(1);
  }, 300_000);

  /**
   * After a membership change at `changedAt`: once each of the `expected` replicas has run three
   * cycles since (so its second is fully read), every resource is polled by exactly one replica
   * in their second cycle; at no instant since is a resource polled twice; and no resource misses
   * more than one instant. Coordinated replicas start cycles at the same whole multiples of the
   * interval, which is what lets polls be counted per instant. Returns the replicas.
   */
  async function afterChange(changedAt: number, expected: number): Promise<Set<string>> {
    await eventually(async () => {
      const cycles = cyclesByReplica(reader.samples, changedAt);
      return cycles.size === expected && [...cycles.values()].every((own) => own.length >= 3);
    }, 1000);
    await reader.catchUp();
    const cycles = cyclesByReplica(reader.samples, changedAt);
    expect(cycles.size).toBe(expected);

    const counts = pollCounts(cycles, (own) => own[1]);
    expect(counts.size).toBe(RESOURCES);
    expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);

    const intervalUs = INTERVAL_SECONDS * 1_000_000;
    const instantOf = (timestamp: number) => Math.floor(timestamp / intervalUs);
    const polls = new Map<string, number[]>();
    for (const { sample } of reader.samples) {
      const resource = JSON.parse(sample.resource_metadata).resource_url as string;
      polls.set(resource, [...(polls.get(resource) ?? []), instantOf(sample.timestamp)]);
    }
    // Each replica's last cycle may not be read in full; earlier ones are.
    const lastComplete = Math.min(...[...cycles.values()].map((own) => instantOf(own.at(-2)!.timestamp)));
    const changeInstant = instantOf(changedAt);
    for (const [resource, instants] of polls) {
      const after = instants.filter((instant) => instant > changeInstant && instant <= lastComplete);
      expect(new Set(after).size, resource).toBe(after.length);
      const lastBefore = Math.max(...instants.filter((instant) => instant <= changeInstant));
      expect(Math.min(...after) - lastBefore, resource).toBeLessThanOrEqual(2);
    }
    return new Set(cycles.keys());
  }
});
