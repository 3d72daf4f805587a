import type { FastifyRequest } from 'fastify';
import { restError } from './errors.ts';

/** Who is calling, as Gnocchi's auth helpers describe a caller. */
export interface Principal {
  userId: string | null;
  projectId: string | null;
  /** Gnocchi's `creator` of the objects this caller makes. */
  creator: string;
  isAdmin: boolean;
  /** The roles policy checks look at (`admin`, `service`, …). */
  roles: readonly string[];
  /**
   * Whether the credentials carry a project (noauth/keystone, even when it is null): Gnocchi's
   * `project_id:` policy checks can only match then; basic auth has none.
   */
  hasProjectCredential: boolean;
}

/**
 * `basic`: HTTP basic auth, the user name is the user, `admin` is the admin (Gnocchi's default).
 * `noauth`: trust `X-User-Id`, `X-Project-Id`, `X-Roles` (Gnocchi's noauth, for deployments whose
 * proxy authenticates).
 */
export type AuthMode = 'basic' | 'noauth';

const header = (request: FastifyRequest, name: string): string | undefined => {
  const raw = request.headers[name];
  return (Array.isArray(raw) ? raw[0] : raw)?.trim() || undefined;
};

export function authenticate(request: FastifyRequest, mode: AuthMode): Principal {
  return mode === 'basic' ? basicPrincipal(request) : noauthPrincipal(request);
}

function basicPrincipal(request: FastifyRequest): Principal {
  const authorization = header(request, 'authorization');
  const match = authorization && /^basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization);
  if (!match) throw restError('REST_UNAUTHENTICATED', 'missing or malformed basic credentials');
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon === -1 ? decoded : decoded.slice(0, colon);
  if (user === '') throw restError('REST_UNAUTHENTICATED', 'empty user name');
  const roles = user === 'admin' ? ['admin'] : [];
  return {
    userId: user,
    projectId: null,
    creator: user,
    isAdmin: user === 'admin',
    roles,
    hasProjectCredential: false,
  };
}

function noauthPrincipal(request: FastifyRequest): Principal {
  const userId = header(request, 'x-user-id') ?? null;
  const projectId = header(request, 'x-project-id') ?? null;
  if (userId === null && projectId === null) {
    throw restError('REST_UNAUTHENTICATED', 'X-User-Id or X-Project-Id is required');
  }
  const roles = (header(request, 'x-roles') ?? '').split(',').map((role) => role.trim());
  return {
    userId,
    projectId,
    creator: `${userId ?? ''}:${projectId ?? ''}`,
    isAdmin: roles.includes('admin'),
    roles,
    hasProjectCredential: true,
  };
}
