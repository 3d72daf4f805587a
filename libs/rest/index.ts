/** Public surface of @granary/rest: the Gnocchi REST API v1 as a fastify instance. */
export { buildApi } from './src/app.ts';
export type { Access, ApiDeps, RouteContext } from './src/app.ts';
export type { AuthConfig, AuthMode, Principal } from './src/auth.ts';
export { BasicAuthenticator, hashPassword } from './src/auth/basic.ts';
export { RestSection } from './src/config.ts';
export { WrittenRows, measureRowsJson } from './src/format.ts';
export type { MeasureSeriesRows } from './src/format.ts';
export { indexPort } from './src/index-adapter.ts';
export type { RestConfig } from './src/config.ts';
export { restError, toGnocchiError } from './src/errors.ts';
export type { GnocchiErrorBody, InvalidInputDescription, RestErrorCode } from './src/errors.ts';
export type * from './src/ports.ts';
