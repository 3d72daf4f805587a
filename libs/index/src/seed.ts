import type { ArchivePolicies, ArchivePolicyRules } from './archive-policies.ts';
import {
  GNOCCHI_DEFAULT_ARCHIVE_POLICIES,
  GNOCCHI_DEFAULT_ARCHIVE_POLICY_RULE,
} from './archive-policy-definition.ts';
import type { Database } from './db.ts';

/** `defaults`: Gnocchi's low/medium/high/bool policies and rule `default` (* → low). `empty`: nothing. */
export type SeedMode = 'defaults' | 'empty';

/**
 * Like gnocchi-upgrade, creates the defaults only into an index with no policies and no rules, so
 * it is safe on every start-up; the advisory lock makes concurrent replicas seed once.
 */
export async function seed(
  db: Database,
  repositories: { archivePolicies: ArchivePolicies; archivePolicyRules: ArchivePolicyRules },
  mode: SeedMode,
): Promise<{ created: boolean }> {
  if (mode === 'empty') return { created: false };
  const client = await db.pool.connect();
  try {
    await client.query(`SELECT pg_advisory_lock(hashtext('granary-index-seed'))`);
    const { rows } = await client.query<{ empty: boolean }>(
      'SELECT NOT EXISTS (SELECT 1 FROM archive_policy) AND NOT EXISTS (SELECT 1 FROM archive_policy_rule) AS empty',
    );
    if (!rows[0]!.empty) return { created: false };
    for (const policy of GNOCCHI_DEFAULT_ARCHIVE_POLICIES) await repositories.archivePolicies.create(policy);
    await repositories.archivePolicyRules.create(GNOCCHI_DEFAULT_ARCHIVE_POLICY_RULE);
    return { created: true };
  } finally {
    // A session lock outlives the query: a connection that could not unlock would hold it in the
    // pool and block every later seed, so it is destroyed (release with an error) instead.
    const unlockFailure = await client
      .query(`SELECT pg_advisory_unlock(hashtext('granary-index-seed'))`)
      .then(
        () => undefined,
        (unlockError: unknown) =>
          unlockError instanceof Error ? unlockError : new Error(String(unlockError)),
      );
    client.release(unlockFailure);
  }
}
