/**
 * Regenerates the vendored JSON schemas in `tools/k8s-check/schemas/` that kubeconform validates
 * our rendered manifests against. kubeconform normally downloads them from GitHub, which CI cannot
 * reach, so we derive them from the Kubernetes OpenAPI spec shipped in the `k8s.io/kubernetes` Go
 * module (fetched through the Go module proxy) and commit the result.
 *
 * The conversion follows what yannh/kubernetes-json-schema does for kubeconform's "-strict"
 * flavour: one standalone file per kind, every `$ref` inlined, `additionalProperties: false` on
 * every object that lists its properties (so typos and misplaced fields fail), optional fields
 * nullable, the two "string or number" types widened, and `apiVersion`/`kind` pinned by enum.
 * Descriptions are dropped to keep the vendored files small (about 230 KB for all kinds).
 *
 * Run: `npx tsx tools/k8s-check/generate-schemas.ts [path/to/swagger.json]`
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Kubernetes release whose API we validate against; bump with the cluster's minor version. */
const KUBERNETES_MODULE = 'k8s.io/kubernetes@v1.31.4';

/** Only the kinds Granary's manifests use: keeping the list short keeps the vendored files small. */
const KINDS_TO_VENDOR = [
  'io.k8s.api.apps.v1.Deployment',
  'io.k8s.api.core.v1.ConfigMap',
  'io.k8s.api.core.v1.Namespace',
  'io.k8s.api.core.v1.Secret',
  'io.k8s.api.core.v1.Service',
  'io.k8s.api.core.v1.ServiceAccount',
  'io.k8s.api.policy.v1.PodDisruptionBudget',
  'io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler',
];

type JsonSchema = { [keyword: string]: unknown };
type Definitions = Record<string, JsonSchema>;

const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';

/** Types the OpenAPI spec declares as strings although YAML authors (rightly) write numbers. */
const WIDENED_TYPES: Record<string, JsonSchema> = {
  [INT_OR_STRING]: { oneOf: [{ type: 'string' }, { type: 'integer' }] },
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { oneOf: [{ type: 'string' }, { type: 'number' }] },
};

const here = dirname(fileURLToPath(import.meta.url));
const outputDir = join(here, 'schemas');

function locateSwagger(): string {
  const explicit = process.argv[2];
  if (explicit) return explicit;
  const module = JSON.parse(
    execFileSync('go', ['mod', 'download', '-json', KUBERNETES_MODULE], { encoding: 'utf8' }),
  ) as { Dir: string };
  return join(module.Dir, 'api', 'openapi-spec', 'swagger.json');
}

/** Inline every `$ref` and apply the strict-mode rewrites, recursively. */
function expand(schema: JsonSchema, definitions: Definitions, path: string[]): JsonSchema {
  const ref = schema.$ref;
  if (typeof ref === 'string') {
    const name = ref.replace('#/definitions/', '');
    if (WIDENED_TYPES[name]) return structuredClone(WIDENED_TYPES[name]);
    // The kinds we vendor are not self-referential; fail loudly rather than loop if one becomes so.
    if (path.includes(name)) throw new Error(`recursive $ref ${name} via ${path.join(' > ')}`);
    const target = definitions[name];
    if (!target) throw new Error(`unknown $ref ${name}`);
    return expand(target, definitions, [...path, name]);
  }

  const result: JsonSchema = {};
  for (const [keyword, value] of Object.entries(schema)) {
    if (keyword === 'description' || keyword.startsWith('x-kubernetes-')) continue;
    if (keyword === 'properties') {
      const required = new Set((schema.required as string[] | undefined) ?? []);
      const properties: Record<string, JsonSchema> = {};
      for (const [name, property] of Object.entries(value as Record<string, JsonSchema>)) {
        const expanded = expand(property, definitions, path);
        properties[name] = required.has(name) ? expanded : nullable(expanded);
      }
      result.properties = properties;
    } else if (keyword === 'items' || keyword === 'additionalProperties') {
      result[keyword] =
        typeof value === 'object' && value !== null ? expand(value as JsonSchema, definitions, path) : value;
    } else {
      result[keyword] = value;
    }
  }
  if (result.format === 'int-or-string') return structuredClone(WIDENED_TYPES[INT_OR_STRING]!);
  if (result.properties && result.additionalProperties === undefined) result.additionalProperties = false;
  return result;
}

/** Kubernetes accepts `null` for any optional field (kustomize and Helm emit them); so must we. */
function nullable(schema: JsonSchema): JsonSchema {
  if (typeof schema.type === 'string') return { ...schema, type: [schema.type, 'null'] };
  if (Array.isArray(schema.oneOf)) return { ...schema, oneOf: [...schema.oneOf, { type: 'null' }] };
  return schema;
}

function pinKind(schema: JsonSchema, apiVersion: string, kind: string): JsonSchema {
  const properties = schema.properties as Record<string, JsonSchema>;
  properties.apiVersion = { type: 'string', enum: [apiVersion] };
  properties.kind = { type: 'string', enum: [kind] };
  return schema;
}

/** kubeconform's file naming: `{{ .ResourceKind }}{{ .KindSuffix }}` = kind-<first group label>-version. */
function schemaFileName(group: string, version: string, kind: string): string {
  const groupLabel = group === '' ? '' : `-${group.split('.')[0]}`;
  return `${kind.toLowerCase()}${groupLabel}-${version}.json`.toLowerCase();
}

/**
 * Strimzi's KafkaTopic (kafka.strimzi.io/v1beta2): no reachable registry ships Strimzi's CRD YAML
 * (the `io.strimzi:api` jar holds only classes), so this transcribes the `spec` of Strimzi 0.45's
 * `04A-Crd-kafkatopic.yaml`, cross-checked against the validator compiled from that CRD in npm's
 * `@kubernetes-models/strimzi-kafka-operator@1.0.1`. `config` is free-form in the CRD (any topic
 * config); `status` is written by the operator, never by us, so it is not modelled.
 */
function kafkaTopicSchema(definitions: Definitions): JsonSchema {
  const objectMeta = expand(
    { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' },
    definitions,
    [],
  );
  return {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      apiVersion: { type: 'string', enum: ['kafka.strimzi.io/v1beta2'] },
      kind: { type: 'string', enum: ['KafkaTopic'] },
      metadata: objectMeta,
      spec: {
        type: 'object',
        properties: {
          topicName: { type: 'string' },
          partitions: { type: 'integer', minimum: 1 },
          replicas: { type: 'integer', minimum: 1, maximum: 32767 },
          config: { type: 'object' },
        },
        additionalProperties: false,
      },
    },
    additionalProperties: false,
  };
}

function main(): void {
  const swaggerPath = locateSwagger();
  const definitions = (JSON.parse(readFileSync(swaggerPath, 'utf8')) as { definitions: Definitions })
    .definitions;

  rmSync(outputDir, { recursive: true, force: true });
  mkdirSync(outputDir, { recursive: true });
  const write = (fileName: string, schema: JsonSchema) =>
    writeFileSync(join(outputDir, fileName), `${JSON.stringify(schema)}\n`);

  for (const name of KINDS_TO_VENDOR) {
    const definition = definitions[name];
    if (!definition) throw new Error(`${name} is not in ${swaggerPath}`);
    const [gvk] = definition['x-kubernetes-group-version-kind'] as {
      group: string;
      version: string;
      kind: string;
    }[];
    if (!gvk) throw new Error(`${name} has no group-version-kind`);
    const apiVersion = gvk.group === '' ? gvk.version : `${gvk.group}/${gvk.version}`;
    const schema = pinKind(expand(definition, definitions, [name]), apiVersion, gvk.kind);
    write(schemaFileName(gvk.group, gvk.version, gvk.kind), schema);
  }
  write(schemaFileName('kafka.strimzi.io', 'v1beta2', 'KafkaTopic'), kafkaTopicSchema(definitions));

  // Formatted like the rest of the repository, so a regeneration shows up as a readable diff.
  execFileSync('npx', ['biome', 'format', '--write', outputDir], { stdio: 'ignore' });
  for (const file of readdirSync(outputDir).sort()) console.log(`wrote ${join('schemas', file)}`);
}

main();
