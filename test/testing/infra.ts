/**
 * Endpoints of the running infrastructure, which test/infra's global setup provides to integration
 * tests. Packages import them from here, never from test/infra by relative path. This module loads
 * vitest: benches and tools take what they need from `./settings.ts` instead.
 */
export { type InfraEndpoints, infra } from '../infra/endpoints.ts';
