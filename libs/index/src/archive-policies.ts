import { pyFloatRepr } from '@granary/python-format';
import {
  type ArchivePolicy,
  type ArchivePolicyInput,
  type ArchivePolicyItem,
  type ArchivePolicyItemInput,
  validateArchivePolicy,
} from './archive-policy-definition.ts';
import type { Database, Queryable } from './db.ts';
import { described, invalidInput } from './errors.ts';
import { fnmatch } from './fnmatch.ts';

interface PolicyRow {
  name: string;
  back_window: number;
  definition: ArchivePolicyItem[];
  aggregation_methods: string[];
}

const toPolicy = (row: PolicyRow): ArchivePolicy => ({
  name: row.name,
  backWindow: row.back_window,
  definition: row.definition,
  aggregationMethods: row.aggregation_methods,
});

export class ArchivePolicies {
  constructor(private readonly db: Database) {}

  async create(input: ArchivePolicyInput): Promise<ArchivePolicy> {
    const policy = validateArchivePolicy(input);
    const rows = await this.db.query<PolicyRow>(
      `INSERT INTO archive_policy (name, back_window, definition, aggregation_methods)
       VALUES ($1, $2, $3, $4) RETURNING *`,
      [policy.name, policy.backWindow, JSON.stringify(policy.definition), policy.aggregationMethods],
      (constraint) =>
        constraint === 'archive_policy_pkey'
          ? described('INDEX_ARCHIVE_POLICY_ALREADY_EXISTS', `Archive policy ${policy.name} already exists`)
          : undefined,
    );
    return toPolicy(rows[0]!);
  }

  async get(name: string): Promise<ArchivePolicy | undefined> {
    const rows = await this.db.query<PolicyRow>('SELECT * FROM archive_policy WHERE name = $1', [name]);
    return rows[0] && toPolicy(rows[0]);
  }

  async list(): Promise<ArchivePolicy[]> {
    return (await this.db.query<PolicyRow>('SELECT * FROM archive_policy ORDER BY name')).map(toPolicy);
  }

  /**
   * Gnocchi's PATCH: the same granularities (points/timespan may change) and optionally a new back
   * window. Lowering the back window flags the policy's metrics for raw-buffer re-truncation.
   */
  async update(
    name: string,
    change: { definition: ArchivePolicyItemInput[]; backWindow?: number },
  ): Promise<ArchivePolicy> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<PolicyRow>('SELECT * FROM archive_policy WHERE name = $1 FOR UPDATE', [
        name,
      ]);
      if (!rows[0]) throw noSuchPolicy(name);
      const current = toPolicy(rows[0]);
      const next = validateArchivePolicy({
        name,
        backWindow: change.backWindow ?? current.backWindow,
        definition: change.definition,
        aggregationMethods: current.aggregationMethods,
      });
      const unsupported = (why: string) =>
        described(
          'INDEX_UNSUPPORTED_ARCHIVE_POLICY_CHANGE',
          `Archive policy ${name} does not support change: ${why}`,
        );
      if (next.definition.length !== current.definition.length)
        throw unsupported('Cannot add or drop granularities');
      for (const item of current.definition) {
        if (!next.definition.some((n) => n.granularity === item.granularity)) {
          throw unsupported(`${pyFloatRepr(item.granularity)} granularity interval was changed`);
        }
      }
      await tx.query('UPDATE archive_policy SET back_window = $2, definition = $3 WHERE name = $1', [
        name,
        next.backWindow,
        JSON.stringify(next.definition),
      ]);
      if (next.backWindow < current.backWindow) {
        await tx.query(
          `UPDATE metric SET needs_raw_data_truncation = true WHERE archive_policy_name = $1 AND status = 'active'`,
          [name],
        );
      }
      return next;
    });
  }

  async delete(name: string): Promise<void> {
    const rows = await this.db.query(
      'DELETE FROM archive_policy WHERE name = $1 RETURNING name',
      [name],
      (constraint) =>
        constraint === 'metric_archive_policy_fk' || constraint === 'archive_policy_rule_policy_fk'
          ? described('INDEX_ARCHIVE_POLICY_IN_USE', `Archive policy ${name} is still in use`)
          : undefined,
    );
    if (rows.length === 0) throw noSuchPolicy(name);
  }
}

export const noSuchPolicy = (name: string) =>
  described('INDEX_NO_SUCH_ARCHIVE_POLICY', `Archive policy ${name} does not exist`, { name });

/** A policy referenced by a rule or a metric that does not exist: a bad request, not a 404. */
export const unknownPolicy = (name: string) =>
  described('INDEX_UNKNOWN_ARCHIVE_POLICY', `Archive policy ${name} does not exist`, { name });

export interface ArchivePolicyRule {
  name: string;
  metricPattern: string;
  archivePolicyName: string;
}

interface RuleRow {
  name: string;
  metric_pattern: string;
  archive_policy_name: string;
}

const toRule = (row: RuleRow): ArchivePolicyRule => ({
  name: row.name,
  metricPattern: row.metric_pattern,
  archivePolicyName: row.archive_policy_name,
});

/** Gnocchi scans rules by pattern descending, then name, and the first fnmatch wins. */
const RULE_ORDER = 'ORDER BY metric_pattern DESC, name ASC';

export class ArchivePolicyRules {
  constructor(private readonly db: Database) {}

  async create(rule: ArchivePolicyRule): Promise<ArchivePolicyRule> {
    for (const key of ['name', 'metricPattern', 'archivePolicyName'] as const) {
      if (typeof rule[key] !== 'string' || rule[key].length === 0) {
        const wire = {
          name: 'name',
          metricPattern: 'metric_pattern',
          archivePolicyName: 'archive_policy_name',
        }[key];
        throw invalidInput('INDEX_INVALID_ARCHIVE_POLICY_RULE', 'required key not provided', [wire], false);
      }
    }
    const rows = await this.db.query<RuleRow>(
      'INSERT INTO archive_policy_rule (name, metric_pattern, archive_policy_name) VALUES ($1, $2, $3) RETURNING *',
      [rule.name, rule.metricPattern, rule.archivePolicyName],
      (constraint) => {
        if (constraint === 'archive_policy_rule_pkey') return ruleExists(rule.name);
        if (constraint === 'archive_policy_rule_policy_fk') {
          return described(
            'INDEX_UNKNOWN_ARCHIVE_POLICY',
            { cause: 'Archive policy does not exist', detail: rule.archivePolicyName },
            { name: rule.archivePolicyName },
          );
        }
        return undefined;
      },
    );
    return toRule(rows[0]!);
  }

  async get(name: string): Promise<ArchivePolicyRule | undefined> {
    const rows = await this.db.query<RuleRow>('SELECT * FROM archive_policy_rule WHERE name = $1', [name]);
    return rows[0] && toRule(rows[0]);
  }

  async list(): Promise<ArchivePolicyRule[]> {
    return (await this.db.query<RuleRow>(`SELECT * FROM archive_policy_rule ${RULE_ORDER}`)).map(toRule);
  }

  /** Renaming is the only change Gnocchi allows on a rule. */
  async rename(name: string, newName: string): Promise<ArchivePolicyRule> {
    if (typeof newName !== 'string' || newName.length === 0) {
      throw invalidInput('INDEX_INVALID_ARCHIVE_POLICY_RULE', 'required key not provided', ['name'], false);
    }
    const rows = await this.db.query<RuleRow>(
      'UPDATE archive_policy_rule SET name = $2 WHERE name = $1 RETURNING *',
      [name, newName],
      (constraint) => (constraint === 'archive_policy_rule_pkey' ? ruleExists(newName) : undefined),
    );
    if (!rows[0]) throw noSuchRule(name);
    return toRule(rows[0]);
  }

  async delete(name: string): Promise<void> {
    const rows = await this.db.query('DELETE FROM archive_policy_rule WHERE name = $1 RETURNING name', [
      name,
    ]);
    if (rows.length === 0) throw noSuchRule(name);
  }

  /** The policy Gnocchi would give a metric created without one, or undefined when no rule matches. */
  async policyFor(metricName: string | null, tx: Queryable = this.db.pool): Promise<string | undefined> {
    const { rows } = await tx.query<RuleRow>(`SELECT * FROM archive_policy_rule ${RULE_ORDER}`);
    return rows.find((rule) => fnmatch(metricName ?? '', rule.metric_pattern))?.archive_policy_name;
  }
}

const ruleExists = (name: string) =>
  described('INDEX_ARCHIVE_POLICY_RULE_ALREADY_EXISTS', `Archive policy rule ${name} already exists.`, {
    name,
  });
const noSuchRule = (name: string) =>
  described('INDEX_NO_SUCH_ARCHIVE_POLICY_RULE', `Archive policy rule ${name} does not exist`, { name });
