import { type Static, Type } from '@sinclair/typebox';

/**
 * `auth:` of the API: one mode, and the settings of that mode. The default, `basic`, refuses to
 * start without a users file; `noauth` trusts identity headers from any client, so it is only ever
 * chosen explicitly.
 */
export const AuthSection = Type.Object(
  {
    /**
     * `keystone`: `X-Auth-Token` validated against Keystone. `basic`: HTTP basic auth checked against
     * the users file. `noauth`: `X-User-Id`/`X-Project-Id`/`X-Roles` trusted (behind a proxy that
     * authenticates, or in tests).
     */
    mode: Type.Union([Type.Literal('keystone'), Type.Literal('basic'), Type.Literal('noauth')], {
      default: 'basic',
    }),
    basic: Type.Object(
      {
        /** YAML or JSON file of `users: [{name, password: <granary auth hash-password>, roles?}]`. */
        usersFile: Type.String({ default: '' }),
        /** Successful verifications remembered (keyed by a hash of the credentials). */
        cacheSize: Type.Integer({ minimum: 0, default: 1024 }),
        cacheTtlSeconds: Type.Integer({ minimum: 0, default: 300 }),
      },
      { additionalProperties: false, default: {} },
    ),
    keystone: Type.Object(
      {
        /** Where Granary validates tokens, e.g. `http://keystone:5000` (with or without `/v3`). */
        url: Type.String({ default: '' }),
        /** Named in `WWW-Authenticate: Keystone uri=…`; defaults to `url`. */
        publicUrl: Type.String({ default: '' }),
        /** The service user whose token may validate other tokens. */
        username: Type.String({ default: '' }),
        password: Type.String({ default: '' }),
        userDomainName: Type.String({ default: 'Default' }),
        projectName: Type.String({ default: 'service' }),
        projectDomainName: Type.String({ default: 'Default' }),
        timeoutMs: Type.Integer({ minimum: 1, default: 5000 }),
        /** Validated tokens remembered; an entry never outlives its token. */
        cacheSize: Type.Integer({ minimum: 0, default: 10_000 }),
        cacheTtlSeconds: Type.Integer({ minimum: 0, default: 300 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

export type AuthConfig = Static<typeof AuthSection>;
export type AuthMode = AuthConfig['mode'];
