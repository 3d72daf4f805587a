import { ensureMinioBinary } from './services/minio.ts';
import { loadInfraSettings } from './settings.ts';

/**
 * The integration tests' MinIO binary, built before any file runs rather than by the first test
 * that starts MinIO: a cold build (minutes) outlasts a test hook. Other runs of the global setup
 * (`make fuzz`) have no use for it.
 */
export default async function setup() {
  await ensureMinioBinary(loadInfraSettings().infra.stateDir, (line) => console.log(`[infra] ${line}`));
}
