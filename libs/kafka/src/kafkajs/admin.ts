import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import type { ObservedTopic, TopicAdmin } from '../ports.ts';
import type { TopicPartitionOffset } from '../records.ts';
import { type TopicSpec, topicConfigEntries } from '../topics.ts';
import { translated } from './errors.ts';

// Not a named ESM export of kafkajs (CommonJS): Node's import cannot see it, only the default object.
const { AssignerProtocol, ConfigResourceTypes } = kafkajs;
const PROVISIONED_CONFIGS = ['retention.ms', 'cleanup.policy'];

export class KafkajsTopicAdmin implements TopicAdmin {
  private readonly admin: Admin;

  constructor(kafka: Kafka) {
    this.admin = kafka.admin();
  }

  connect(): Promise<void> {
    return translated('connect admin', () => this.admin.connect());
  }

  disconnect(): Promise<void> {
    return this.admin.disconnect();
  }

  async describeTopics(names: readonly string[]): Promise<Map<string, ObservedTopic>> {
    const all = new Set(await translated('list topics', () => this.admin.listTopics()));
    const present = names.filter((name) => all.has(name));
    const observed = new Map<string, ObservedTopic>();
    if (present.length === 0) return observed;
    const [{ topics }, configs] = await Promise.all([
      translated('fetch topic metadata', () => this.admin.fetchTopicMetadata({ topics: present })),
      translated('describe topic configs', () =>
        this.admin.describeConfigs({
          includeSynonyms: false,
          resources: present.map((name) => ({
            type: ConfigResourceTypes.TOPIC,
            name,
            configNames: PROVISIONED_CONFIGS,
          })),
        }),
      ),
    ]);
    for (const topic of topics) {
      const resource = configs.resources.find((r) => r.resourceName === topic.name);
      observed.set(topic.name, {
        name: topic.name,
        partitions: topic.partitions.length,
        replicationFactor: topic.partitions[0]?.replicas.length ?? 0,
        configs: Object.fromEntries(
          (resource?.configEntries ?? []).map((e) => [e.configName, e.configValue]),
        ),
      });
    }
    return observed;
  }

  async createTopics(specs: readonly TopicSpec[]): Promise<void> {
    await translated('create topics', () =>
      this.admin.createTopics({
        waitForLeaders: true,
        topics: specs.map((spec) => ({
          topic: spec.name,
          numPartitions: spec.partitions,
          replicationFactor: spec.replicationFactor,
          configEntries: Object.entries(topicConfigEntries(spec)).map(([name, value]) => ({ name, value })),
        })),
      }),
    );
  }

  async deleteTopics(names: readonly string[]): Promise<void> {
    await translated('delete topics', () => this.admin.deleteTopics({ topics: [...names] }));
  }

  async endOffsets(topic: string): Promise<TopicPartitionOffset[]> {
    const offsets = await translated('fetch end offsets', () => this.admin.fetchTopicOffsets(topic));
    return offsets.map(({ partition, high }) => ({ topic, partition, offset: high }));
  }

  async partitionOwners(groupId: string, topic: string): Promise<Map<number, string>> {
    const { groups } = await translated('describe group', () => this.admin.describeGroups([groupId]));
    const owners = new Map<number, string>();
    // Between generations (a rebalance) members carry no assignment: nobody owns anything yet.
    if (groups[0]?.state !== 'Stable') return owners;
    for (const member of groups[0].members) {
      const assignment = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
      const owner = `${member.clientHost.replace(/^\//, '')} ${member.memberId}`;
      for (const partition of assignment?.assignment[topic] ?? []) owners.set(partition, owner);
    }
    return owners;
  }

  async committedOffsets(groupId: string, topic: string): Promise<TopicPartitionOffset[]> {
    const [committed] = await translated('fetch committed offsets', () =>
      this.admin.fetchOffsets({ groupId, topics: [topic] }),
    );
    return (committed?.partitions ?? []).map(({ partition, offset }) => ({ topic, partition, offset }));
  }
}
