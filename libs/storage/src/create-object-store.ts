import type { StorageConfig } from '@granary/config';
import type { Instruments } from '@granary/observability';
import { FileObjectStore } from './file-store.ts';
import { StorageInstruments, measuredObjectStore } from './measured-store.ts';
import type { ObjectStore } from './object-store.ts';
import { type ConditionalWriteMode, S3ObjectStore } from './s3-store.ts';

export interface CreateObjectStoreOptions {
  /** S3: create the bucket when it is missing (for development and tests; production pre-creates). */
  createBucket?: boolean;
  /** S3: how manifest compare-and-set reaches the server; see S3ObjectStore. */
  conditionalWrites?: ConditionalWriteMode;
  /** Where the store's operations are counted and timed (`granary_storage_*`); unset: nowhere. */
  instruments?: Instruments;
}

/** The driver `config.driver` names, ready to use, measured when given instruments. */
export async function createObjectStore(
  config: StorageConfig,
  options: CreateObjectStoreOptions = {},
): Promise<ObjectStore> {
  const store = await openDriver(config, options);
  return options.instruments
    ? measuredObjectStore(store, new StorageInstruments(options.instruments))
    : store;
}

async function openDriver(config: StorageConfig, options: CreateObjectStoreOptions): Promise<ObjectStore> {
  if (config.driver === 'file') return new FileObjectStore({ basePath: config.file.basePath });
  const store = new S3ObjectStore({ ...config.s3, conditionalWrites: options.conditionalWrites });
  if (options.createBucket) await store.ensureBucket();
  return store;
}
