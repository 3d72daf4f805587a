import { createHash } from 'node:crypto';
import { ExpiringLru } from '@granary/bounded-cache';
import type { Logger } from '@granary/observability';
import type { Principal } from '../auth.ts';
import { restError } from '../errors.ts';
import type { AuthConfig } from './config.ts';

const TOKEN_SHAPE = /^[\x21-\x7e]{1,8192}$/;

/** Re-issue the service token this long before Keystone says it expires (at most half its life). */
const SERVICE_TOKEN_MARGIN_MS = 60_000;

interface KeystoneToken {
  expires_at?: string;
  user?: { id?: string };
  project?: { id?: string };
  roles?: { name?: string }[];
}

/**
 * Keystone's token validation as keystonemiddleware does it: the caller's `X-Auth-Token` is checked
 * with `GET /v3/auth/tokens` (`X-Subject-Token`) under a service user's own token. The principal is
 * Gnocchi's KeystoneAuthHelper's: creator `user_id:project_id`, roles from the token. An invalid or
 * expired token is a 401; Keystone unreachable or failing is a retriable 503, never a 500.
 */
export class KeystoneAuthenticator {
  readonly challenge: string;
  readonly #config: AuthConfig['keystone'];
  readonly #base: string;
  readonly #validated: ExpiringLru<Principal>;
  readonly #now: () => number;
  readonly #logger: Logger | undefined;
  /** The service token and when to replace it. */
  #serviceToken: Promise<{ token: string; expiresAt: number }> | undefined;

  constructor(config: AuthConfig['keystone'], options: { logger?: Logger; now?: () => number } = {}) {
    if (config.url === '' || config.username === '' || config.password === '') {
      throw restError(
        'REST_AUTH_CONFIG',
        'auth.mode keystone needs auth.keystone.url, auth.keystone.username and auth.keystone.password',
      );
    }
    this.#config = config;
    this.#base = `${config.url.replace(/\/+$/, '').replace(/\/v3$/, '')}/v3`;
    this.challenge = `Keystone uri="${config.publicUrl || config.url}"`;
    this.#now = options.now ?? Date.now;
    this.#validated = new ExpiringLru(config.cacheSize, this.#now);
    this.#logger = options.logger;
  }

  async authenticate(token: string | undefined): Promise<Principal> {
    if (!token) throw restError('REST_UNAUTHENTICATED', 'X-Auth-Token is required');
    // Keystone's tokens are printable ASCII; anything else could not even be sent on (fetch refuses
    // such header values), and must be a 401, not a 503.
    if (!TOKEN_SHAPE.test(token)) throw restError('REST_UNAUTHENTICATED', 'malformed token');
    const cacheKey = createHash('sha256').update(token).digest('base64');
    const cached = this.#validated.get(cacheKey);
    if (cached) return cached;
    let answer = await this.#validate(token, await this.#currentServiceToken());
    if (answer.status === 401) {
      // Our own token was revoked or expired early: get a new one once.
      this.#serviceToken = undefined;
      answer = await this.#validate(token, await this.#currentServiceToken());
    }
    if (answer.status === 404 || answer.status === 401) {
      throw restError('REST_UNAUTHENTICATED', 'invalid or expired token');
    }
    if (answer.status !== 200) throw this.#unavailable(`token validation answered ${answer.status}`);
    const { token: body } = (await answer.json()) as { token?: KeystoneToken };
    const principal = toPrincipal(body);
    if (!principal) throw this.#unavailable('token validation answered without a user');
    const expiresAt = Math.min(
      Date.parse(body?.expires_at ?? '') || 0,
      this.#now() + this.#config.cacheTtlSeconds * 1000,
    );
    this.#validated.set(cacheKey, principal, expiresAt);
    return principal;
  }

  #validate(subject: string, serviceToken: string): Promise<Response> {
    return this.#fetch(`${this.#base}/auth/tokens`, {
      method: 'GET',
      headers: { 'x-auth-token': serviceToken, 'x-subject-token': subject, accept: 'application/json' },
    });
  }

  async #currentServiceToken(): Promise<string> {
    const current = this.#serviceToken;
    if (current) {
      const { token, expiresAt } = await current.catch(() => ({ token: '', expiresAt: 0 }));
      if (expiresAt > this.#now()) return token;
      if (this.#serviceToken !== current) return this.#currentServiceToken();
    }
    this.#serviceToken = this.#issueServiceToken();
    return (await this.#serviceToken).token;
  }

  async #issueServiceToken(): Promise<{ token: string; expiresAt: number }> {
    const c = this.#config;
    const answer = await this.#fetch(`${this.#base}/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: {
            methods: ['password'],
            password: {
              user: { name: c.username, domain: { name: c.userDomainName }, password: c.password },
            },
          },
          scope: { project: { name: c.projectName, domain: { name: c.projectDomainName } } },
        },
      }),
    });
    const token = answer.headers.get('x-subject-token');
    if (answer.status !== 201 || !token) {
      this.#serviceToken = undefined;
      throw this.#unavailable(`service user ${c.username} could not get a token (${answer.status})`);
    }
    const { token: body } = (await answer.json()) as { token?: KeystoneToken };
    const issuedAt = this.#now();
    const expiresAt = Date.parse(body?.expires_at ?? '') || issuedAt;
    return { token, expiresAt: expiresAt - Math.min(SERVICE_TOKEN_MARGIN_MS, (expiresAt - issuedAt) / 2) };
  }

  async #fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.timeout(this.#config.timeoutMs) });
    } catch (cause) {
      throw this.#unavailable(`Keystone at ${this.#base} is unreachable`, cause);
    }
  }

  #unavailable(reason: string, cause?: unknown) {
    this.#logger?.error({ component: 'auth', err: cause, keystone: this.#base }, reason);
    return restError('REST_UNAVAILABLE', 'The authentication service is unavailable', {
      cause,
      details: { reason },
    });
  }
}

function toPrincipal(token: KeystoneToken | undefined): Principal | undefined {
  const userId = token?.user?.id;
  if (!userId) return undefined;
  const projectId = token.project?.id ?? null;
  const roles = (token.roles ?? []).flatMap((role) => (role.name ? [role.name] : []));
  return {
    userId,
    projectId,
    creator: `${userId}:${projectId ?? ''}`,
    isAdmin: roles.includes('admin'),
    roles,
    hasProjectCredential: true,
  };
}
