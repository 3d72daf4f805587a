import type { TestProject } from 'vitest/node';
import type { InfraEndpoints } from './endpoints.ts';
import { infraDown, infraUp } from './infra.ts';
import { loadInfraSettings } from './settings.ts';

/**
 * Integration tests run against real services: this finds or starts them before the first test
 * file and provides their endpoints (`infra()` in tests). It never skips: a service that cannot be
 * had fails the run with the reason. Services this run started are stopped after it, unless
 * GRANARY_INFRA__KEEP=true asks to keep them for the next run.
 */
export default async function setup(project: TestProject) {
  const settings = loadInfraSettings();
  const report = (line: string) => console.log(`[infra] ${line}`);
  const state = await infraUp(settings, { allowContainers: true, report });
  project.provide('infra', state.endpoints);
  return async () => {
    if (settings.infra.keep) return;
    const started = (Object.keys(state.origins) as (keyof InfraEndpoints)[]).filter(
      (key) => state.origins[key] === 'started',
    );
    await infraDown(settings, { report, only: started });
  };
}
