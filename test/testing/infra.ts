/**
 * The running infrastructure as packages' tests and benches see it: endpoints that test/infra's
 * global setup provides, and the project's fixed test settings. Packages import these from here,
 * never from test/infra by relative path.
 */
export { type InfraEndpoints, infra } from '../infra/endpoints.ts';
export { PROJECT_ROOT, S3_CREDENTIALS, TEST_USERS_FILE, loadInfraSettings } from '../infra/settings.ts';
