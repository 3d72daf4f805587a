import type { Principal } from './auth.ts';
import { describedRestError, restError } from './errors.ts';

/**
 * Gnocchi 4.7.1's default policy (`gnocchi/rest/policies.py`), one table: every rule name the API
 * enforces and its check, as oslo.policy evaluates it against the caller's credentials and a
 * target dict built from the object (see `PolicyTarget`).
 *
 * | check          | oslo.policy text                                            |
 * |----------------|-------------------------------------------------------------|
 * | admin          | `role:admin`                                                |
 * | service        | `role:service`                                              |
 * | creator        | `user:%(creator)s or project_id:%(created_by_project_id)s` |
 * | resource_owner | `project_id:%(project_id)s`                                 |
 * | metric_owner   | `project_id:%(resource.project_id)s`                        |
 *
 * A target key that is absent (the object has no such field, e.g. a metric without a resource)
 * fails its check, as oslo.policy's KeyError does. `project_id:` checks need a project in the
 * credentials: basic auth has none (Gnocchi's BasicAuthHelper), so there only the user and the
 * roles count. Under noauth/keystone a caller without a project compares equal to objects without
 * one only (oslo.policy compares `str(None)`), never to every object.
 */
export type Check = 'admin' | 'service' | 'creator' | 'resource_owner' | 'metric_owner';

const ADMIN: readonly Check[] = ['admin'];
const ADMIN_OR_SERVICE: readonly Check[] = ['admin', 'service'];
const ADMIN_OR_CREATOR: readonly Check[] = ['admin', 'creator'];
const ADMIN_OR_SERVICE_OR_CREATOR: readonly Check[] = ['admin', 'service', 'creator'];
const ADMIN_OR_CREATOR_OR_RESOURCE_OWNER: readonly Check[] = ['admin', 'creator', 'resource_owner'];
const ADMIN_OR_SERVICE_OR_CREATOR_OR_RESOURCE_OWNER: readonly Check[] = [
  'admin',
  'service',
  'creator',
  'resource_owner',
];
const ADMIN_OR_CREATOR_OR_METRIC_OWNER: readonly Check[] = ['admin', 'creator', 'metric_owner'];
const ADMIN_OR_SERVICE_OR_CREATOR_OR_METRIC_OWNER: readonly Check[] = [
  'admin',
  'service',
  'creator',
  'metric_owner',
];
/** Gnocchi's `UNPROTECTED` (the empty check string): anyone authenticated. */
const UNPROTECTED: readonly Check[] = [];

/** Each rule of policies.py → the checks of which any one grants it (empty: always granted). */
export const POLICY = {
  'get status': ADMIN,
  'create resource': UNPROTECTED,
  'get resource': ADMIN_OR_CREATOR_OR_RESOURCE_OWNER,
  'update resource': ADMIN_OR_SERVICE_OR_CREATOR,
  'delete resource': ADMIN_OR_CREATOR,
  'delete resources': ADMIN_OR_CREATOR,
  'list resource': ADMIN_OR_CREATOR_OR_RESOURCE_OWNER,
  'search resource': ADMIN_OR_SERVICE_OR_CREATOR_OR_RESOURCE_OWNER,
  'create resource type': ADMIN_OR_SERVICE,
  'get resource type': UNPROTECTED,
  'update resource type': ADMIN_OR_SERVICE,
  'delete resource type': ADMIN,
  'list resource type': UNPROTECTED,
  'create archive policy': ADMIN_OR_SERVICE,
  'get archive policy': UNPROTECTED,
  'update archive policy': ADMIN,
  'delete archive policy': ADMIN,
  'list archive policy': UNPROTECTED,
  'create archive policy rule': ADMIN,
  'get archive policy rule': UNPROTECTED,
  'update archive policy rule': ADMIN,
  'delete archive policy rule': ADMIN,
  'list archive policy rule': UNPROTECTED,
  'create metric': UNPROTECTED,
  'get metric': ADMIN_OR_SERVICE_OR_CREATOR_OR_METRIC_OWNER,
  'delete metric': ADMIN_OR_CREATOR,
  'list metric': ADMIN_OR_CREATOR_OR_METRIC_OWNER,
  'search metric': ADMIN_OR_CREATOR_OR_METRIC_OWNER,
  'post measures': ADMIN_OR_SERVICE_OR_CREATOR,
  'get measures': ADMIN_OR_SERVICE_OR_CREATOR_OR_METRIC_OWNER,
} as const satisfies Record<string, readonly Check[]>;

export type PolicyRule = keyof typeof POLICY;

/**
 * What Gnocchi's target dict holds about the object; a missing key is a key the dict lacks.
 * `null` is a present key whose value is None.
 */
export interface PolicyTarget {
  creator?: string | null;
  createdByProjectId?: string | null;
  projectId?: string | null;
  /** The project of the metric's resource (`resource.project_id`). */
  resourceProjectId?: string | null;
}

/** The target of an object that has a creator: Gnocchi derives `created_by_project_id` from it. */
export function ownedTarget(creator: string | null): PolicyTarget {
  return { creator, createdByProjectId: creator === null ? null : projectOfCreator(creator) };
}

/** A resource as a policy target. */
export const resourceTarget = (resource: {
  creator: string | null;
  projectId: string | null;
}): PolicyTarget => ({
  ...ownedTarget(resource.creator),
  projectId: resource.projectId,
});

/**
 * A metric as a policy target; `resourceProjectId` only when the metric has a resource (the
 * caller looks it up lazily, see `metricNeedsResource`).
 */
export const metricTarget = (
  metric: { creator: string | null },
  resource?: { projectId: string | null },
) => ({
  ...ownedTarget(metric.creator),
  ...(resource ? { resourceProjectId: resource.projectId } : {}),
});

/** Python's `creator.partition(':')[2]`. */
function projectOfCreator(creator: string): string {
  const at = creator.indexOf(':');
  return at === -1 ? '' : creator.slice(at + 1);
}

/** oslo.policy's `project_id:%(key)s`: the credentials' project against one target value. */
function projectMatches(principal: Principal, value: string | null | undefined): boolean {
  return principal.hasProjectCredential && value !== undefined && value === principal.projectId;
}

function passes(principal: Principal, check: Check, target: PolicyTarget): boolean {
  switch (check) {
    case 'admin':
      return principal.roles.includes('admin');
    case 'service':
      return principal.roles.includes('service');
    case 'creator':
      return (
        (target.creator !== undefined && target.creator === principal.creator) ||
        projectMatches(principal, target.createdByProjectId)
      );
    case 'resource_owner':
      return projectMatches(principal, target.projectId);
    case 'metric_owner':
      return projectMatches(principal, target.resourceProjectId);
  }
}

/** Whether the rule grants the caller this target. */
export function allows(principal: Principal, rule: PolicyRule, target: PolicyTarget): boolean {
  const checks: readonly Check[] = POLICY[rule];
  return checks.length === 0 || checks.some((check) => passes(principal, check, target));
}

/** Gnocchi's `enforce(rule, target)`: a 403 unless the rule grants the caller this target. */
export function authorize(principal: Principal, rule: PolicyRule, target: PolicyTarget = {}): void {
  if (!allows(principal, rule, target)) throw restError('REST_FORBIDDEN');
}

/**
 * Whether deciding a metric rule for this caller needs the project of the metric's resource:
 * only when nothing else grants it and the rule has a `metric_owner` check that could.
 */
export function metricNeedsResource(
  principal: Principal,
  rule: PolicyRule,
  metric: { creator: string | null },
) {
  return (
    !allows(principal, rule, metricTarget(metric)) &&
    principal.hasProjectCredential &&
    (POLICY[rule] as readonly Check[]).includes('metric_owner')
  );
}

/** A filter in Gnocchi's JSON search form, for the index to parse. */
export type PolicyFilter = Record<string, unknown>;

const insufficientPrivileges = () => describedRestError('REST_FORBIDDEN', 'Insufficient privileges');

/**
 * Gnocchi's `get_resource_policy_filter`: what a non-admin list/search/bulk delete is restricted
 * to. `undefined` when the rule grants every resource (admin, service where allowed) or under
 * basic auth (Gnocchi's BasicAuthHelper filters nothing); otherwise resources of the caller's
 * project and/or created by it, as far as the rule allows; a 403 when it allows neither.
 */
export function resourcePolicyFilter(principal: Principal, rule: PolicyRule): PolicyFilter | undefined {
  if (!principal.hasProjectCredential || allows(principal, rule, {})) return undefined;
  const project = principal.projectId;
  const filters: PolicyFilter[] = [];
  if (allows(principal, rule, { projectId: project })) filters.push({ '=': { project_id: project } });
  if (allows(principal, rule, { createdByProjectId: project })) {
    filters.push(project ? { like: { creator: `%:${project}` } } : { '=': { creator: null } });
  }
  if (filters.length === 0) throw insufficientPrivileges();
  return { or: filters };
}

/**
 * Gnocchi's `get_metric_policy_filter` for `GET /v1/metric` with its resource counterpart
 * (`allow_resource_project_id`): a non-admin under noauth/keystone sees the metrics its project
 * created or whose resource belongs to its project. `undefined`: no restriction.
 */
export function metricPolicyFilter(
  principal: Principal,
  rule: PolicyRule,
): { createdByProject?: string | null; resourceProject?: string | null } | undefined {
  if (!principal.hasProjectCredential || allows(principal, rule, {})) return undefined;
  const project = principal.projectId;
  const byCreator = allows(principal, rule, { createdByProjectId: project });
  const byResource = allows(principal, rule, { resourceProjectId: project });
  if (!byCreator && !byResource) throw insufficientPrivileges();
  return {
    ...(byCreator ? { createdByProject: project } : {}),
    ...(byResource ? { resourceProject: project } : {}),
  };
}
