import type { Instruments } from '@granary/observability';
import { ArchivePolicies, ArchivePolicyRules } from './archive-policies.ts';
import { Database } from './db.ts';
import { IndexInstruments } from './measured-repositories.ts';
import { Metrics } from './metrics.ts';
import { migrate } from './migrations.ts';
import { ResourceTypes } from './resource-types.ts';
import { Resources } from './resources.ts';
import { type SeedMode, seed } from './seed.ts';

/** The few logger methods the index uses (pino's shape). */
export interface IndexLogger {
  info(obj: object, msg?: string): void;
}

export interface IndexOptions {
  databaseUrl: string;
  /** Pool size per process; PostgreSQL connections are the scarce resource, keep it small. */
  maxConnections?: number;
  logger?: IndexLogger;
  /** Where repository calls and the pool are measured (`granary_index_*`); unset: nowhere. */
  instruments?: Instruments;
}

export interface Index {
  /** Applies pending schema migrations (safe to call from every replica at once). */
  migrate(): Promise<{ applied: number[]; version: number }>;
  /** `defaults` creates Gnocchi's default policies and rule into an empty index; `empty` creates nothing. */
  seed(mode: SeedMode): Promise<{ created: boolean }>;
  close(): Promise<void>;
  archivePolicies: ArchivePolicies;
  archivePolicyRules: ArchivePolicyRules;
  resourceTypes: ResourceTypes;
  resources: Resources;
  metrics: Metrics;
}

export function createIndex(options: IndexOptions): Index {
  const db = new Database(options.databaseUrl, options.maxConnections ?? 10);
  const archivePolicies = new ArchivePolicies(db);
  const archivePolicyRules = new ArchivePolicyRules(db);
  const measures = options.instruments ? new IndexInstruments(options.instruments, db.pool) : undefined;
  const measured = <Repository extends object>(name: string, repository: Repository) =>
    measures ? measures.measured(name, repository) : repository;
  return {
    async migrate() {
      const result = await migrate(db);
      options.logger?.info({ applied: result.applied, version: result.version }, 'index schema migrated');
      return result;
    },
    async seed(mode) {
      const result = await seed(db, { archivePolicies, archivePolicyRules }, mode);
      options.logger?.info({ mode, created: result.created }, 'index seeded');
      return result;
    },
    close: () => db.close(),
    archivePolicies: measured('archivePolicies', archivePolicies),
    archivePolicyRules: measured('archivePolicyRules', archivePolicyRules),
    resourceTypes: measured('resourceTypes', new ResourceTypes(db)),
    resources: measured('resources', new Resources(db, archivePolicyRules)),
    metrics: measured('metrics', new Metrics(db, archivePolicyRules)),
  };
}
