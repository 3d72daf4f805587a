import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import type { GroupState, ObservedTopic, PartitionBounds, TopicAdmin } from '../ports.ts';
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

  async existingTopics(names: readonly string[]): Promise<Set<string>> {
    const all = new Set(await translated('list topics', () => this.admin.listTopics()));
    return new Set(names.filter((name) => all.has(name)));
  }

  async describeTopics(names: readonly string[]): Promise<Map<string, ObservedTopic>> {
    const present = [...(await this.existingTopics(names))];
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

  async alterTopicConfigs(topic: string, entries: Readonly<Record<string, string>>): Promise<void> {
    const { resources } = await translated(`describe configs of ${topic}`, () =>
      this.admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
      }),
    );
    const current = (resources[0]?.configEntries ?? []).filter(
      (e) => !e.isDefault && !e.readOnly && e.configValue !== null,
    );
    const merged = new Map(current.map((e) => [e.configName, e.configValue]));
    for (const [name, value] of Object.entries(entries)) merged.set(name, value);
    await translated(`alter configs of ${topic}`, () =>
      this.admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: topic,
            configEntries: [...merged].map(([name, value]) => ({ name, value })),
          },
        ],
      }),
    );
  }

  async endOffsets(topic: string): Promise<TopicPartitionOffset[]> {
    const offsets = await translated('fetch end offsets', () => this.admin.fetchTopicOffsets(topic));
    return offsets.map(({ partition, high }) => ({ topic, partition, offset: high }));
  }

  async offsetBounds(topic: string): Promise<PartitionBounds[]> {
    const offsets = await translated(`fetch offsets of ${topic}`, () => this.admin.fetchTopicOffsets(topic));
    return offsets
      .map(({ partition, low, high }) => ({ partition, low, high }))
      .sort((a, b) => a.partition - b.partition);
  }

  async offsetsAtTime(topic: string, epochMs: number): Promise<TopicPartitionOffset[]> {
    const offsets = await translated(`fetch offsets of ${topic} at ${epochMs}`, () =>
      this.admin.fetchTopicOffsetsByTimestamp(topic, epochMs),
    );
    return offsets.map(({ partition, offset }) => ({ topic, partition, offset }));
  }

  async listGroups(): Promise<string[]> {
    const { groups } = await translated('list consumer groups', () => this.admin.listGroups());
    return groups
      .filter((g) => g.protocolType === 'consumer' || g.protocolType === '')
      .map((g) => g.groupId)
      .sort();
  }

  async describeGroup(groupId: string): Promise<GroupState> {
    const { groups } = await translated(`describe group ${groupId}`, () =>
      this.admin.describeGroups([groupId]),
    );
    const group = groups[0];
    return { groupId, state: group?.state ?? 'Dead', members: group?.members.length ?? 0 };
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

  async committedOffsets(groupId: string, topic?: string): Promise<TopicPartitionOffset[]> {
    const topics = await translated(`fetch committed offsets of group ${groupId}`, () =>
      this.admin.fetchOffsets({ groupId, ...(topic === undefined ? {} : { topics: [topic] }) }),
    );
    return topics.flatMap(({ topic: name, partitions }) =>
      partitions.map(({ partition, offset }) => ({ topic: name, partition, offset })),
    );
  }

  async setOffsets(
    groupId: string,
    topic: string,
    offsets: readonly { partition: number; offset: string }[],
  ): Promise<void> {
    await translated(`set offsets of group ${groupId} on ${topic}`, () =>
      this.admin.setOffsets({ groupId, topic, partitions: [...offsets] }),
    );
  }
}
