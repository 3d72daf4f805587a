import type { Database } from './db.ts';

interface Migration {
  version: number;
  description: string;
  sql: string;
}

/**
 * Forward-only, append-only: a released migration is never edited; changes come as a new version.
 * Names use `COLLATE "C"` where Gnocchi's ordering must be byte order (rule patterns), whatever
 * the database's locale.
 */
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'archive policies, rules, resource types, resources with history, metrics',
    sql: `
      CREATE FUNCTION granary_micros_to_timestamp(bigint) RETURNS timestamptz
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$ SELECT timestamptz '1970-01-01 00:00:00+00' + $1 * interval '1 microsecond' $$;
      CREATE FUNCTION granary_timestamp_to_micros(timestamptz) RETURNS bigint
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$ SELECT (extract(epoch FROM $1) * 1000000)::bigint $$;

      CREATE TABLE archive_policy (
        name text COLLATE "C" PRIMARY KEY,
        back_window integer NOT NULL CHECK (back_window >= 0),
        definition jsonb NOT NULL,
        aggregation_methods text[] NOT NULL
      );

      CREATE TABLE archive_policy_rule (
        name text COLLATE "C" PRIMARY KEY,
        archive_policy_name text COLLATE "C" NOT NULL
          CONSTRAINT archive_policy_rule_policy_fk REFERENCES archive_policy (name) ON DELETE RESTRICT,
        metric_pattern text COLLATE "C" NOT NULL
      );

      CREATE TABLE resource_type (
        name text COLLATE "C" PRIMARY KEY,
        state text NOT NULL DEFAULT 'active',
        attributes jsonb NOT NULL DEFAULT '{}',
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      INSERT INTO resource_type (name) VALUES ('generic');

      CREATE TABLE resource (
        id uuid PRIMARY KEY,
        type text COLLATE "C" NOT NULL
          CONSTRAINT resource_type_fk REFERENCES resource_type (name) ON DELETE RESTRICT,
        creator text,
        original_resource_id text NOT NULL CHECK (char_length(original_resource_id) <= 289),
        started_at timestamptz NOT NULL,
        ended_at timestamptz,
        user_id text,
        project_id text,
        revision_start timestamptz NOT NULL,
        attributes jsonb NOT NULL DEFAULT '{}',
        CONSTRAINT resource_started_before_ended CHECK (ended_at IS NULL OR started_at <= ended_at)
      );
      CREATE INDEX resource_type_idx ON resource (type);
      CREATE INDEX resource_default_order_idx ON resource (revision_start, started_at, id);
      CREATE INDEX resource_started_at_idx ON resource (started_at);
      CREATE INDEX resource_user_id_idx ON resource (user_id);
      CREATE INDEX resource_project_id_idx ON resource (project_id);
      CREATE INDEX resource_attributes_idx ON resource USING gin (attributes jsonb_path_ops);

      -- Past revisions only; the current one lives in resource (revision -1 in markers).
      CREATE TABLE resource_history (
        revision bigserial PRIMARY KEY,
        id uuid NOT NULL REFERENCES resource (id) ON DELETE CASCADE,
        type text COLLATE "C" NOT NULL,
        creator text,
        original_resource_id text NOT NULL,
        started_at timestamptz NOT NULL,
        ended_at timestamptz,
        user_id text,
        project_id text,
        revision_start timestamptz NOT NULL,
        revision_end timestamptz NOT NULL,
        attributes jsonb NOT NULL
      );
      CREATE INDEX resource_history_id_idx ON resource_history (id);
      CREATE INDEX resource_history_type_idx ON resource_history (type);

      CREATE TABLE metric (
        id uuid PRIMARY KEY,
        archive_policy_name text COLLATE "C" NOT NULL
          CONSTRAINT metric_archive_policy_fk REFERENCES archive_policy (name) ON DELETE RESTRICT,
        creator text,
        resource_id uuid CONSTRAINT metric_resource_fk REFERENCES resource (id) ON DELETE SET NULL,
        name text,
        unit text CHECK (char_length(unit) <= 31),
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'delete')),
        needs_raw_data_truncation boolean NOT NULL DEFAULT false,
        last_measure_timestamp timestamptz
      );
      -- Deleted metrics keep their name and resource until expunged, so uniqueness is among active ones.
      CREATE UNIQUE INDEX metric_resource_name_key ON metric (resource_id, name)
        WHERE status = 'active' AND resource_id IS NOT NULL;
      CREATE INDEX metric_archive_policy_idx ON metric (archive_policy_name);
      CREATE INDEX metric_to_expunge_idx ON metric (id) WHERE status = 'delete';
    `,
  },
  {
    version: 2,
    description: "resource type attributes keep the client's order",
    // Gnocchi writes a type's attributes, and a resource's, in the order they were declared; jsonb
    // would hand them back sorted by length. Only ever read and written whole, so json loses nothing.
    sql: `
      ALTER TABLE resource_type ALTER COLUMN attributes DROP DEFAULT;
      ALTER TABLE resource_type ALTER COLUMN attributes TYPE json USING attributes::json;
      ALTER TABLE resource_type ALTER COLUMN attributes SET DEFAULT '{}';
    `,
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/**
 * Applies pending migrations in one transaction under a transaction-scoped advisory lock, so
 * replicas starting together queue up and all but the first find nothing to do. A database newer
 * than this code is left alone (rolling upgrades run old and new replicas side by side).
 */
export async function migrate(db: Database): Promise<{ applied: number[]; version: number }> {
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('granary-index-migrations'))`);
    await tx.query(`
      CREATE TABLE IF NOT EXISTS granary_index_migration (
        version integer PRIMARY KEY,
        description text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const { rows } = await tx.query<{ version: number }>('SELECT version FROM granary_index_migration');
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await tx.query(migration.sql);
      await tx.query('INSERT INTO granary_index_migration (version, description) VALUES ($1, $2)', [
        migration.version,
        migration.description,
      ]);
      applied.push(migration.version);
    }
    return { applied, version: Math.max(LATEST_SCHEMA_VERSION, ...done) };
  });
}
