/** The project's fixed test settings, for tests and for benches (which run outside vitest). */
export { PROJECT_ROOT, S3_CREDENTIALS, TEST_USERS_FILE, loadInfraSettings } from '../infra/settings.ts';
