import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ExpiringLru } from '@granary/bounded-cache';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import type { Principal } from '../auth.ts';
import { restError } from '../errors.ts';
import type { AuthConfig } from './config.ts';

/**
 * scrypt's cost: N=2^14, r=8 (Node's defaults, ~16 MiB and tens of ms per check). It runs on libuv's
 * thread pool, never on the event loop, and successful checks are cached.
 */
const SCRYPT = { N: 16384, r: 8, p: 1, keyLength: 32, saltLength: 16 } as const;
const PREFIX = 'scrypt';

function derive(password: string, salt: Buffer, N: number, r: number, p: number, keyLength: number) {
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, keyLength, { N, r, p, maxmem: 256 * N * r }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** `scrypt:N:r:p:<salt base64>:<hash base64>`: what the users file holds for each password. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT.saltLength);
  const key = await derive(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keyLength);
  return [PREFIX, SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), key.toString('base64')].join(':');
}

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function parseHash(user: string, encoded: string): ParsedHash {
  const [prefix, N, r, p, salt, key, ...rest] = encoded.split(':');
  const numbers = [N, r, p].map(Number);
  if (
    prefix !== PREFIX ||
    rest.length > 0 ||
    !numbers.every((n) => Number.isInteger(n) && n > 0) ||
    !salt ||
    !key ||
    numbers[0]! > 1 << 20
  ) {
    throw restError('REST_AUTH_CONFIG', `user ${user}: password is not a granary auth hash-password hash`);
  }
  return {
    N: numbers[0]!,
    r: numbers[1]!,
    p: numbers[2]!,
    salt: Buffer.from(salt, 'base64'),
    key: Buffer.from(key, 'base64'),
  };
}

async function matches(password: string, hash: ParsedHash): Promise<boolean> {
  const key = await derive(password, hash.salt, hash.N, hash.r, hash.p, hash.key.length);
  return timingSafeEqual(key, hash.key);
}

const UsersFile = Type.Object({
  users: Type.Array(
    Type.Object(
      {
        name: Type.String({ minLength: 1 }),
        password: Type.String(),
        roles: Type.Optional(Type.Array(Type.String())),
      },
      { additionalProperties: false },
    ),
  ),
});

interface BasicUser {
  hash: ParsedHash;
  roles: string[];
}

/** The users file, validated; every problem is a coded error naming the file. */
export function loadUsersFile(path: string): Map<string, BasicUser> {
  if (path === '') {
    throw restError('REST_AUTH_CONFIG', 'auth.mode basic needs auth.basic.usersFile (or set auth.mode)');
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw restError('REST_AUTH_CONFIG', `users file ${path}: ${(cause as Error).message}`, { cause });
  }
  if (!Value.Check(UsersFile, parsed)) {
    const first = Value.Errors(UsersFile, parsed).First();
    throw restError('REST_AUTH_CONFIG', `users file ${path}: ${first?.path ?? ''} ${first?.message ?? ''}`);
  }
  const users = new Map<string, BasicUser>();
  for (const user of (parsed as Static<typeof UsersFile>).users) {
    if (users.has(user.name)) throw restError('REST_AUTH_CONFIG', `users file ${path}: ${user.name} twice`);
    users.set(user.name, { hash: parseHash(user.name, user.password), roles: user.roles ?? [] });
  }
  return users;
}

/** Compared against when the user is unknown, so a wrong name costs the same time as a wrong password. */
const DECOY: ParsedHash = {
  ...SCRYPT,
  salt: Buffer.alloc(SCRYPT.saltLength),
  key: Buffer.alloc(SCRYPT.keyLength),
};

export interface BasicCredentials {
  user: string;
  password: string;
}

/**
 * HTTP basic auth checked against the users file. Gnocchi's semantics: the user name is the user and
 * the creator, there is no project, and `admin` (or anyone with the admin role) is the admin.
 */
export class BasicAuthenticator {
  readonly challenge = 'Basic realm="gnocchi"';
  readonly #users: Map<string, BasicUser>;
  readonly #verified: ExpiringLru<Principal>;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(config: AuthConfig['basic'], now: () => number = Date.now) {
    this.#users = loadUsersFile(config.usersFile);
    this.#verified = new ExpiringLru(config.cacheSize, now);
    this.#ttlMs = config.cacheTtlSeconds * 1000;
    this.#now = now;
  }

  async authenticate({ user, password }: BasicCredentials): Promise<Principal> {
    const cacheKey = createHash('sha256').update(user).update('\0').update(password).digest('base64');
    const cached = this.#verified.get(cacheKey);
    if (cached) return cached;
    const known = this.#users.get(user);
    const valid = await matches(password, known?.hash ?? DECOY);
    if (!known || !valid) throw restError('REST_UNAUTHENTICATED', 'unknown user or wrong password');
    const roles =
      user === 'admin' && !known.roles.includes('admin') ? ['admin', ...known.roles] : known.roles;
    const principal: Principal = {
      userId: user,
      projectId: null,
      creator: user,
      isAdmin: roles.includes('admin'),
      roles,
      hasProjectCredential: false,
    };
    this.#verified.set(cacheKey, principal, this.#now() + this.#ttlMs);
    return principal;
  }
}

/** `Authorization: Basic …` decoded; anything else is a 401. */
export function basicCredentials(authorization: string | undefined): BasicCredentials {
  const match = authorization && /^basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization);
  if (!match) throw restError('REST_UNAUTHENTICATED', 'missing or malformed basic credentials');
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon === -1 ? decoded : decoded.slice(0, colon);
  const password = colon === -1 ? '' : decoded.slice(colon + 1);
  if (user === '') throw restError('REST_UNAUTHENTICATED', 'empty user name');
  return { user, password };
}
