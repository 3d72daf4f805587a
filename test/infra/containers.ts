import type { InfraEndpoints } from './endpoints.ts';
import { S3_CREDENTIALS } from './settings.ts';

type Endpoint = keyof InfraEndpoints;

/**
 * The same services as Testcontainers, for machines with a container runtime. Containers live as
 * long as the process that started them (Ryuk removes them), so this path serves test runs.
 */
export async function containerRuntimeAnswers(): Promise<boolean> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  return getContainerRuntimeClient()
    .then(() => true)
    .catch(() => false);
}

export async function startContainers(wanted: Endpoint[]): Promise<Partial<InfraEndpoints>> {
  const { GenericContainer, Network, Wait } = await import('testcontainers');
  const found: Partial<InfraEndpoints> = {};
  const network = await new Network().start();
  if (wanted.includes('kafkaBrokers') || wanted.includes('schemaRegistryUrl')) {
    const kafka = await new GenericContainer('apache/kafka:3.9.1')
      .withNetwork(network)
      .withNetworkAliases('kafka')
      .withExposedPorts({ container: 19092, host: 19092 })
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: 'PLAINTEXT://:19092,INTERNAL://:29092,CONTROLLER://:19093',
        KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://127.0.0.1:19092,INTERNAL://kafka:29092',
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT',
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_INTER_BROKER_LISTENER_NAME: 'INTERNAL',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@kafka:19093',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .start();
    found.kafkaBrokers = [`${kafka.getHost()}:19092`];
  }
  if (wanted.includes('schemaRegistryUrl')) {
    const registry = await new GenericContainer('apicurio/apicurio-registry:3.0.8')
      .withExposedPorts(8080)
      .withWaitStrategy(Wait.forHttp('/apis/ccompat/v7/subjects', 8080))
      .start();
    found.schemaRegistryUrl = `http://${registry.getHost()}:${registry.getMappedPort(8080)}/apis/ccompat/v7`;
  }
  if (wanted.includes('s3Endpoint')) {
    const s3 = await new GenericContainer('andrewgaul/s3proxy:s3proxy-3.0.0')
      .withEnvironment({
        S3PROXY_AUTHORIZATION: 'aws-v2-or-v4',
        S3PROXY_IDENTITY: S3_CREDENTIALS.accessKeyId,
        S3PROXY_CREDENTIAL: S3_CREDENTIALS.secretAccessKey,
        JCLOUDS_PROVIDER: 'transient',
      })
      .withExposedPorts(80)
      .withWaitStrategy(Wait.forListeningPorts())
      .start();
    found.s3Endpoint = `http://${s3.getHost()}:${s3.getMappedPort(80)}`;
  }
  if (wanted.includes('databaseUrl')) {
    const postgres = await new GenericContainer('postgres:15')
      .withEnvironment({
        POSTGRES_USER: 'granary',
        POSTGRES_DB: 'granary',
        POSTGRES_HOST_AUTH_METHOD: 'trust',
      })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start();
    found.databaseUrl = `postgres://granary@${postgres.getHost()}:${postgres.getMappedPort(5432)}/granary`;
  }
  if (wanted.includes('redisUrl')) {
    const redis = await new GenericContainer('redis:7').withExposedPorts(6379).start();
    found.redisUrl = `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`;
  }
  return found;
}
