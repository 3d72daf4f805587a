import type { Logger } from '@granary/observability';
import type { FastifyRequest } from 'fastify';
import { BasicAuthenticator, basicCredentials } from './auth/basic.ts';
import type { AuthConfig } from './auth/config.ts';
import { KeystoneAuthenticator } from './auth/keystone.ts';
import { restError } from './errors.ts';

export type { AuthConfig, AuthMode } from './auth/config.ts';

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

/** Reads a request's credentials and answers who it is, or a coded 401/503. */
export interface Authenticator {
  /** `WWW-Authenticate` of a 401, naming how to authenticate (none in noauth). */
  readonly challenge: string | undefined;
  authenticate(request: FastifyRequest): Promise<Principal>;
}

const header = (request: FastifyRequest, name: string): string | undefined => {
  const raw = request.headers[name];
  return (Array.isArray(raw) ? raw[0] : raw)?.trim() || undefined;
};

/**
 * The authenticator of `config.mode` (Gnocchi's auth helpers). Refuses to build one without what the
 * mode needs (a users file, a Keystone and its service user): a coded REST_AUTH_CONFIG error at start.
 */
export function createAuthenticator(config: AuthConfig, logger?: Logger): Authenticator {
  switch (config.mode) {
    case 'basic': {
      const basic = new BasicAuthenticator(config.basic);
      return {
        challenge: basic.challenge,
        authenticate: (request) => basic.authenticate(basicCredentials(header(request, 'authorization'))),
      };
    }
    case 'keystone': {
      const keystone = new KeystoneAuthenticator(config.keystone, logger ? { logger } : {});
      return {
        challenge: keystone.challenge,
        authenticate: (request) => keystone.authenticate(header(request, 'x-auth-token')),
      };
    }
    case 'noauth':
      return { challenge: undefined, authenticate: async (request) => noauthPrincipal(request) };
  }
}

/** `noauth`: trust `X-User-Id`, `X-Project-Id`, `X-Roles` (for deployments whose proxy authenticates). */
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
