import { describe, expect, it } from 'vitest';
import type { Principal } from '../src/auth.ts';
import {
  POLICY,
  allows,
  authorize,
  metricNeedsResource,
  metricPolicyFilter,
  metricTarget,
  resourcePolicyFilter,
  resourceTarget,
} from '../src/policy.ts';

const keystoneUser = (userId: string, projectId: string | null, roles: string[] = []): Principal => ({
  userId,
  projectId,
  creator: `${userId}:${projectId ?? ''}`,
  isAdmin: roles.includes('admin'),
  roles,
  hasProjectCredential: true,
});
const basicUser = (user: string): Principal => ({
  userId: user,
  projectId: null,
  creator: user,
  isAdmin: user === 'admin',
  roles: user === 'admin' ? ['admin'] : [],
  hasProjectCredential: false,
});

describe('the policy table', () => {
  it('has every rule of Gnocchi 4.7.1 policies.py, and no other', () => {
    expect(Object.keys(POLICY).sort()).toEqual(
      [
        'get status',
        'create resource',
        'get resource',
        'update resource',
        'delete resource',
        'delete resources',
        'list resource',
        'search resource',
        'create resource type',
        'get resource type',
        'update resource type',
        'delete resource type',
        'list resource type',
        'create archive policy',
        'get archive policy',
        'update archive policy',
        'delete archive policy',
        'list archive policy',
        'create archive policy rule',
        'get archive policy rule',
        'update archive policy rule',
        'delete archive policy rule',
        'list archive policy rule',
        'create metric',
        'get metric',
        'delete metric',
        'list metric',
        'search metric',
        'post measures',
        'get measures',
      ].sort(),
    );
  });

  it('matches the creator by user or by the project in the creator string (Python partition)', () => {
    const resource = resourceTarget({ creator: 'u1:p:q', projectId: null });
    expect(allows(keystoneUser('u9', 'p:q'), 'delete resource', resource)).toBe(true);
    expect(allows(keystoneUser('u9', 'q'), 'delete resource', resource)).toBe(false);
    expect(allows(basicUser('u1:p:q'), 'delete resource', resource)).toBe(true);
  });

  it('never matches project checks for basic credentials, even against objects without a project', () => {
    const target = resourceTarget({ creator: null, projectId: null });
    expect(allows(basicUser('bob'), 'get resource', target)).toBe(false);
    expect(allows(keystoneUser('u5', null), 'get resource', target)).toBe(true);
  });

  it('treats an absent target key as failing (a metric without a resource has no metric_owner)', () => {
    const caller = keystoneUser('u3', 'PA');
    expect(allows(caller, 'get metric', metricTarget({ creator: 'u1:PS' }))).toBe(false);
    expect(allows(caller, 'get metric', metricTarget({ creator: 'u1:PS' }, { projectId: 'PA' }))).toBe(true);
    expect(metricNeedsResource(caller, 'get metric', { creator: 'u1:PS' })).toBe(true);
    expect(metricNeedsResource(caller, 'post measures', { creator: 'u1:PS' })).toBe(false);
    expect(metricNeedsResource(keystoneUser('u2', 'PS'), 'get metric', { creator: 'u1:PS' })).toBe(false);
  });

  it('throws the coded 403', () => {
    expect(() => authorize(basicUser('bob'), 'get status')).toThrow(expect.objectContaining({ status: 403 }));
    expect(() => authorize(keystoneUser('svc', 'PX', ['service']), 'create archive policy')).not.toThrow();
  });
});

describe('list filters (get_resource_policy_filter / get_metric_policy_filter)', () => {
  it('filters nothing for admins and under basic auth', () => {
    expect(resourcePolicyFilter(keystoneUser('adm', 'P', ['admin']), 'list resource')).toBeUndefined();
    expect(resourcePolicyFilter(basicUser('bob'), 'list resource')).toBeUndefined();
    expect(metricPolicyFilter(basicUser('bob'), 'list metric')).toBeUndefined();
  });

  it('builds what each rule lets a project see', () => {
    const user = keystoneUser('u1', 'PA');
    expect(resourcePolicyFilter(user, 'list resource')).toEqual({
      or: [{ '=': { project_id: 'PA' } }, { like: { creator: '%:PA' } }],
    });
    expect(resourcePolicyFilter(user, 'delete resources')).toEqual({ or: [{ like: { creator: '%:PA' } }] });
    expect(resourcePolicyFilter(keystoneUser('svc', 'PX', ['service']), 'search resource')).toBeUndefined();
    expect(metricPolicyFilter(user, 'list metric')).toEqual({
      createdByProject: 'PA',
      resourceProject: 'PA',
    });
  });

  it('scopes a caller without a project to objects without one', () => {
    expect(resourcePolicyFilter(keystoneUser('u5', null), 'list resource')).toEqual({
      or: [{ '=': { project_id: null } }, { '=': { creator: null } }],
    });
  });
});
