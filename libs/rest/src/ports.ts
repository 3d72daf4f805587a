/**
 * What the REST layer needs from the rest of Granary. Data shapes the index defines and the routes
 * use unchanged are the index's own types; the stores are interfaces here, narrowed to what the
 * routes call, so that `index-adapter.ts` alone wires the real index to them and unit tests
 * substitute small in-memory versions. Time values are seconds (granularities) or epoch µs.
 */
import type {
  ArchivePolicy,
  ArchivePolicyInput,
  ArchivePolicyItem,
  ArchivePolicyItemInput,
  ArchivePolicyRule,
  AttributeValue,
  MetricCreate,
  MetricListFilter,
  MetricSpec,
  MetricStatus,
  PageRequest,
  Resource,
  ResourceCreate,
  ResourceUpdate,
} from '@granary/index';
import type { MeasureBatch } from '@granary/schema';

export type {
  ArchivePolicy,
  ArchivePolicyInput,
  ArchivePolicyItem,
  ArchivePolicyItemInput,
  ArchivePolicyRule,
  AttributeValue,
  MetricCreate,
  MetricListFilter,
  MetricSpec,
  MetricStatus,
  PageRequest,
  Resource,
  ResourceCreate,
  ResourceUpdate,
};

export interface ArchivePolicyStore {
  create(input: ArchivePolicyInput): Promise<ArchivePolicy>;
  get(name: string): Promise<ArchivePolicy | undefined>;
  list(): Promise<ArchivePolicy[]>;
  update(
    name: string,
    change: { definition: ArchivePolicyItemInput[]; backWindow?: number },
  ): Promise<ArchivePolicy>;
  delete(name: string): Promise<void>;
}

export interface ArchivePolicyRuleStore {
  create(rule: ArchivePolicyRule): Promise<ArchivePolicyRule>;
  get(name: string): Promise<ArchivePolicyRule | undefined>;
  list(): Promise<ArchivePolicyRule[]>;
  rename(name: string, newName: string): Promise<ArchivePolicyRule>;
  delete(name: string): Promise<void>;
}

/** Attribute schemas in Gnocchi's wire form (snake_case option names). */
export type AttributeDefinition =
  | { type: 'string'; required: boolean; min_length: number; max_length: number }
  | { type: 'number'; required: boolean; min: number | null; max: number | null }
  | { type: 'uuid' | 'bool' | 'datetime'; required: boolean };

export interface ResourceType {
  name: string;
  state: string;
  attributes: Record<string, AttributeDefinition>;
}

export interface ResourceTypeStore {
  create(input: { name: string; attributes?: Record<string, unknown> }): Promise<ResourceType>;
  get(name: string): Promise<ResourceType | undefined>;
  list(): Promise<ResourceType[]>;
  /** Gnocchi's JSON-patch document, validated by the index. */
  patch(name: string, operations: unknown): Promise<ResourceType>;
  delete(name: string): Promise<void>;
}

/** The index as the API sees it. */
export interface IndexPort {
  archivePolicies: ArchivePolicyStore;
  archivePolicyRules: ArchivePolicyRuleStore;
  resourceTypes: ResourceTypeStore;
  metrics: MetricStore;
  resources: ResourceStore;
  /** Maps a client's resource id (UUID kept, anything else UUIDv5 with the creator). */
  resourceId(rawId: string, creator: string | null): ResourceIdMapping;
  /** Resolves when the index answers; used by `/healthcheck`. */
  ping(): Promise<void>;
}

export interface Metric {
  id: string;
  name: string | null;
  unit: string | null;
  resourceId: string | null;
  creator: string | null;
  status: MetricStatus;
  archivePolicy: ArchivePolicy;
}

export interface MetricStore {
  create(input: MetricCreate): Promise<Metric>;
  get(id: string): Promise<Metric | undefined>;
  /** The active metrics among `ids` (any UUID spelling), in no particular order: one round trip. */
  getMany(ids: readonly string[]): Promise<Metric[]>;
  list(filter: MetricListFilter, page: PageRequest): Promise<Metric[]>;
  delete(id: string): Promise<void>;
}

/** Gnocchi's `ResourceUUID`: the UUID a client's resource id stands for, or why it cannot be one. */
export type ResourceIdMapping = { id: string } | { problem: string };

/**
 * A search; `filter` is either of Gnocchi's forms (JSON object or query string), parsed by the
 * index. `policyFilter` (Gnocchi's JSON form, from `policy.ts`) restricts it to what the caller
 * may see.
 */
export interface ResourceSearch extends PageRequest {
  type: string;
  filter?: unknown;
  history?: boolean;
  creator: string | null;
  policyFilter?: Record<string, unknown>;
}

export interface ResourceStore {
  create(input: ResourceCreate): Promise<Resource>;
  get(type: string, id: string): Promise<Resource | undefined>;
  update(
    type: string,
    id: string,
    change: ResourceUpdate,
    options: { creator: string | null },
  ): Promise<Resource>;
  addMetrics(
    type: string,
    id: string,
    metrics: Record<string, MetricSpec>,
    options: { creator: string | null },
  ): Promise<Resource>;
  delete(type: string, id: string): Promise<void>;
  deleteMatching(
    type: string,
    filter: unknown,
    options: { creator: string | null; policyFilter?: Record<string, unknown> },
  ): Promise<number>;
  search(request: ResourceSearch): Promise<Resource[]>;
  history(type: string, id: string, page: PageRequest): Promise<Resource[]>;
}

/** Points of one series: epoch µs timestamps (sorted) and their values. */
export interface Points {
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
}

/** New measures of one metric, as produced to `granary.measures`. */
export type { MeasureBatch };

/** `measuresWriter` of @granary/schema over the API's producer. */
export interface MeasureWriter {
  /** Resolves once the broker acknowledged every batch: only then may the API answer 202. */
  write(batches: readonly MeasureBatch[]): Promise<void>;
}

export interface AggregateQuery {
  metric: Metric;
  aggregation: string;
  /** Seconds; each must be one of the metric's policy. */
  granularities: readonly number[];
  /** Epoch µs, inclusive (rounded down to each granularity). */
  start?: number;
  /** Epoch µs, exclusive. */
  stop?: number;
  /** Ask the owning processor to checkpoint first (Gnocchi's `refresh=true`). */
  refresh: boolean;
}

export interface MeasureReader {
  /** The stored aggregates per granularity; a metric never written has empty series. */
  read(query: AggregateQuery): Promise<{ granularitySeconds: number; points: Points }[]>;
}

/** Measure writes (Kafka) and reads (object storage), each absent until its adapter is wired. */
export interface MeasuresPort {
  writer?: MeasureWriter;
  reader?: MeasureReader;
}

/** One partition of `granary.measures`: Gnocchi's sack, with Kafka's numbers. */
export interface PartitionBacklog {
  partition: number;
  /** Records produced but not yet committed by the owning processor (consumer lag). */
  lag: number;
  /** The offset of the last checkpoint (the manifest's), null before the first one. */
  checkpointOffset: number | null;
  /** The processor owning the partition, if any (its group member id). */
  owner: string | null;
}

/** A consumer group other than the processors' (ingest's) and its lag on a topic it reads. */
export interface ConsumerGroupLag {
  groupId: string;
  topic: string;
  lag: number;
}

/** What a processor or ingest last published of itself (@granary/coordination's MemberStatus). */
export interface MemberReport {
  service: 'processor' | 'ingest';
  member: string;
  /** When it was published (ms since the epoch). */
  at: number;
  deadLetters: readonly { code: string; count: number }[];
  droppedTooOld: number;
  rebuilds: readonly { metricId: string; partition: number; phase: string; since: number }[];
}

export interface BacklogPort {
  backlog(): Promise<PartitionBacklog[]>;
  /** Lag of the other consumer groups, for `/v1/status?details=true`. */
  consumerGroups?(): Promise<ConsumerGroupLag[]>;
  /** The live members' published status, for `/v1/status?details=true`. */
  members?(): Promise<MemberReport[]>;
}
