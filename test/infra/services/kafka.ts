import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { forgetPid, recordedPid, run, startDetached, stopProcess, waitUntil } from '../process.ts';
import { PORTS, PROJECT_ROOT } from '../settings.ts';
import { resolveMavenClasspath } from './maven.ts';
import type { LocalService } from './service.ts';

const BROKER = `127.0.0.1:${PORTS.kafka}`;

/** Apache Kafka 3.9.1, one node acting as broker and KRaft controller (static quorum). */
export const kafkaService: LocalService = {
  name: 'kafka',
  endpoint: BROKER,

  async answers() {
    const admin = new Kafka({
      brokers: [BROKER],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1000,
      retry: { retries: 0 },
    }).admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.brokers.length > 0;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  },

  async start(stateDir) {
    const lib = join(stateDir, 'cache', 'kafka', 'lib');
    resolveMavenClasspath(join(PROJECT_ROOT, 'test/infra/jvm/kafka'), lib);
    const home = join(stateDir, 'data', 'kafka');
    const logDir = join(home, 'log');
    mkdirSync(logDir, { recursive: true });
    const properties = join(home, 'server.properties');
    writeFileSync(
      properties,
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${PORTS.kafkaController}`,
        `listeners=PLAINTEXT://127.0.0.1:${PORTS.kafka},CONTROLLER://127.0.0.1:${PORTS.kafkaController}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${PORTS.kafka}`,
        'controller.listener.names=CONTROLLER',
        'inter.broker.listener.name=PLAINTEXT',
        'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        `log.dirs=${logDir}`,
        'num.partitions=1',
        // As in production: every topic is provisioned by an app, `granary topics apply` or a test.
        'auto.create.topics.enable=false',
        'offsets.topic.replication.factor=1',
        // Fewer internal partitions: faster first start on a 2-core machine, same semantics.
        'offsets.topic.num.partitions=8',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'transaction.state.log.num.partitions=4',
        'group.initial.rebalance.delay.ms=0',
        '',
      ].join('\n'),
    );
    const log4j = join(home, 'log4j.properties');
    writeFileSync(
      log4j,
      [
        'log4j.rootLogger=WARN, stdout',
        'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
        'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
        'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
        'log4j.logger.kafka.server.KafkaServer=INFO',
        'log4j.logger.kafka.server.KafkaRaftServer=INFO',
        '',
      ].join('\n'),
    );
    const clusterIdFile = join(home, 'cluster-id');
    if (!existsSync(clusterIdFile)) writeFileSync(clusterIdFile, randomBytes(16).toString('base64url'));
    const classpath = `${lib}/*`;
    const jvm = ['-Xms256m', '-Xmx768m', `-Dlog4j.configuration=file:${log4j}`, '-cp', classpath];
    run('java', [
      ...jvm,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      readFileSync(clusterIdFile, 'utf8'),
      '-c',
      properties,
      '--ignore-formatted',
    ]);
    const pid = startDetached('kafka', 'java', [...jvm, 'kafka.Kafka', properties], { stateDir });
    await waitUntil('Kafka', () => this.answers(), {
      timeoutMs: 120_000,
      pid,
      logFile: join(stateDir, 'logs', 'kafka.log'),
    });
  },

  async stop(stateDir) {
    const pid = recordedPid(stateDir, 'kafka');
    if (pid !== undefined) await stopProcess(pid, 30_000);
    forgetPid(stateDir, 'kafka');
  },
};
