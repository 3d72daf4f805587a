import { randomUUID } from 'node:crypto';
import { infra } from '@granary/testing/infra';
import { describe, expect, it } from 'vitest';
import { createSchemaRegistryClient, measureBatchSchema, registerSchema, valueSubject } from '../index.ts';

describe('registering one subject from several processes at once', () => {
  // `make run` starts every app together on a fresh registry: each registers the schemas it writes,
  // and all of them must start, with the one id the registry assigned.
  it('gives every registrant the same id and leaves the subject BACKWARD', async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const subject = valueSubject(`test.concurrent.${randomUUID()}`);
      const ids = await Promise.all(
        Array.from({ length: 6 }, () =>
          registerSchema(
            createSchemaRegistryClient({ url: infra().schemaRegistryUrl }),
            subject,
            measureBatchSchema,
          ),
        ),
      );
      expect(new Set(ids).size).toBe(1);
      const config = await fetch(`${infra().schemaRegistryUrl}/config/${subject}`);
      expect(((await config.json()) as { compatibilityLevel: string }).compatibilityLevel).toBe('BACKWARD');
    }
  });
});
