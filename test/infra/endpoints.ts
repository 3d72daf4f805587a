import { inject } from 'vitest';

/** The real services an integration test talks to; provided by test/infra/global-setup.ts. */
export interface InfraEndpoints {
  kafkaBrokers: string[];
  schemaRegistryUrl: string;
  databaseUrl: string;
  redisUrl: string;
  s3Endpoint: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    infra: InfraEndpoints;
  }
}

/** Endpoints of the running infrastructure, for integration tests (`*.int.test.ts`). */
export function infra(): InfraEndpoints {
  return inject('infra');
}
