import { createKafkaClient } from '@granary/kafka';
import { defineCommand } from '../command.ts';
import { EXIT_CODES } from '../errors.ts';
import { applyTopics, renderTopicsReport } from '../topics-apply.ts';

export const topicsApply = defineCommand({
  path: ['topics', 'apply'],
  summary: 'create or update the topics of the configuration (idempotent; shows drift)',
  description: [
    'Creates missing topics, sets retention.ms and cleanup.policy where they differ, and reports',
    'partition count or replication factor differences without changing them (exit 3): adding',
    "partitions would move keys, and so metrics' ownership and checkpoints, to other partitions.",
  ].join('\n'),
  options: {
    'dry-run': { type: 'boolean', description: 'only show what would change' },
  },
  async run({ options }, { config }) {
    const { kafka, topics } = config();
    const admin = createKafkaClient(kafka).createAdmin();
    await admin.connect();
    try {
      const report = await applyTopics(admin, Object.values(topics), { dryRun: options['dry-run'] });
      return {
        json: report,
        text: renderTopicsReport(report),
        exitCode: report.drift.length > 0 ? EXIT_CODES.refused : EXIT_CODES.ok,
      };
    } finally {
      await admin.disconnect();
    }
  },
});
