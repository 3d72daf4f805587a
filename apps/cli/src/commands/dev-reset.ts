import { createKafkaClient } from '@granary/kafka';
import { createObjectStore } from '@granary/storage';
import { defineCommand } from '../command.ts';
import { assertLocal, emptyStore, recreateIndexDatabase, recreateTopics } from '../dev-reset.ts';

export const devReset = defineCommand({
  path: ['dev', 'reset'],
  summary: 'start over locally: recreate the topics and the index database, empty the storage',
  description: [
    'Deletes and recreates every configured topic, drops and recreates the index database (migrated,',
    'default archive policies seeded) and deletes every object of the configured storage (file base',
    'path or S3 bucket). Refused (exit 3) unless Kafka, PostgreSQL and S3 are all on this machine;',
    '--force overrides that. Stop the Granary apps first: they hold connections and state.',
  ].join('\n'),
  options: {
    force: { type: 'boolean', description: 'reset even endpoints that are not local' },
  },
  async run({ options }, { config, output }) {
    const { kafka, database, storage, topics } = config();
    assertLocal({ kafka, database, storage }, options.force);
    const recreated = Object.values(topics).map((t) => t.name);
    const admin = createKafkaClient(kafka).createAdmin();
    await admin.connect();
    try {
      output.note('recreating topics…');
      await recreateTopics(admin, Object.values(topics));
    } finally {
      await admin.disconnect();
    }
    output.note('recreating the index database…');
    const index = await recreateIndexDatabase(database);
    const store = await createObjectStore(storage, { createBucket: true });
    let objects: number;
    try {
      objects = await emptyStore(store);
    } finally {
      await store.close();
    }
    const where = storage.driver === 's3' ? `bucket ${storage.s3.bucket}` : storage.file.basePath;
    return {
      json: {
        topics: recreated,
        database: index.database,
        schemaVersion: index.version,
        deletedObjects: objects,
      },
      text: [
        `topics recreated: ${recreated.join(', ')}`,
        `index database ${index.database} recreated (schema version ${index.version}, default policies seeded)`,
        `storage ${where}: ${objects} objects deleted`,
      ].join('\n'),
    };
  },
});
