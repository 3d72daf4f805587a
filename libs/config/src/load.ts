import { readFileSync } from 'node:fs';
import { defineErrors } from '@granary/errors';
import { type Static, type TSchema, TypeGuard } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';

export const configErrors = defineErrors({
  CONFIG_FILE_UNREADABLE: { message: 'Configuration file cannot be read', status: 500, retriable: false },
  CONFIG_FILE_INVALID_YAML: {
    message: 'Configuration file is not valid YAML',
    status: 500,
    retriable: false,
  },
  CONFIG_INVALID: { message: 'Invalid configuration', status: 500, retriable: false },
});

/**
 * The endpoint variables written by `make infra-up` (`.granary/infra.env`) and commonly set by
 * operators. Each maps onto a config path; it applies only when the app's schema has that path.
 */
const ENDPOINT_VARIABLES: Record<string, string> = {
  KAFKA_BROKERS: 'kafka.brokers',
  SCHEMA_REGISTRY_URL: 'schemaRegistry.url',
  DATABASE_URL: 'database.url',
  REDIS_URL: 'redis.url',
  S3_ENDPOINT: 'storage.s3.endpoint',
};

export interface LoadOptions {
  /** YAML file; when absent, `GRANARY_CONFIG` names it; no file means defaults plus environment. */
  file?: string;
  /** The environment to read; the one place in Granary that sees `process.env`. */
  env?: Record<string, string | undefined>;
}

/**
 * Load one validated configuration object: schema defaults, then the YAML file, then the endpoint
 * variables, then `GRANARY_<PATH>` overrides (`__` separates levels, `_` inside a level becomes
 * camelCase: `GRANARY_API__MAX_LIMIT` sets `api.maxLimit`). The first bad key fails start-up with
 * its path and where the value came from.
 */
export function loadConfig<S extends TSchema>(schema: S, options: LoadOptions = {}): Static<S> {
  const env = options.env ?? process.env;
  const file = options.file ?? env.GRANARY_CONFIG;
  const raw: Record<string, unknown> = file ? readYaml(file) : {};
  const origins = new Map<string, string>();

  for (const [variable, path] of Object.entries(ENDPOINT_VARIABLES)) {
    const value = env[variable];
    if (value === undefined || value === '' || !schemaHasPath(schema, path)) continue;
    setPath(raw, path, path === 'kafka.brokers' ? value.split(',').map((b) => b.trim()) : value);
    origins.set(path, variable);
  }
  for (const [variable, value] of Object.entries(env)) {
    if (!variable.startsWith('GRANARY_') || variable === 'GRANARY_CONFIG' || value === undefined) continue;
    const path = variable
      .slice('GRANARY_'.length)
      .split('__')
      .map((level) => level.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()))
      .join('.');
    setPath(raw, path, parseScalar(value));
    origins.set(path, variable);
  }

  const withDefaults = Value.Default(schema, raw);
  const converted = Value.Convert(schema, withDefaults);
  const first = Value.Errors(schema, converted).First();
  if (first) {
    const path = first.path.replace(/^\//, '').replaceAll('/', '.') || '(root)';
    const origin = originOf(path, origins, file);
    throw configErrors('CONFIG_INVALID', `key '${path}' ${first.message.toLowerCase()} (from ${origin})`, {
      details: { path, origin },
    });
  }
  return converted as Static<S>;
}

function readYaml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw configErrors('CONFIG_FILE_UNREADABLE', file, { cause });
  }
  try {
    const parsed: unknown = parseYaml(text);
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch (cause) {
    throw configErrors('CONFIG_FILE_INVALID_YAML', `${file}: ${(cause as Error).message}`, { cause });
  }
}

function parseScalar(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (!next || typeof next !== 'object') node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
}

function schemaHasPath(schema: TSchema, path: string): boolean {
  let node: TSchema | undefined = schema;
  for (const key of path.split('.')) {
    if (!node || !TypeGuard.IsObject(node)) return false;
    node = node.properties[key];
  }
  return node !== undefined;
}

function originOf(path: string, origins: Map<string, string>, file: string | undefined): string {
  for (const [p, origin] of origins) if (path === p || path.startsWith(`${p}.`)) return origin;
  return file ?? 'defaults';
}
