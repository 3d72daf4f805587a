import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiConfigSchema } from '@granary/app-api';
import { IngestConfigSchema } from '@granary/app-ingest';
import { PollerConfigSchema } from '@granary/app-poller';
import { ProcessorConfigSchema } from '@granary/app-processor';
import { loadConfig } from '@granary/config';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

/**
 * `make k8s-check` and `make docker-lint` are only worth having if they fail on a broken input, so
 * each case here copies the real manifests (or Dockerfile), breaks one thing the way people do,
 * and expects the check to reject it, and the intact copy to pass.
 */
const repo = join(import.meta.dirname, '..', '..');
const k8sCheck = join(repo, 'tools', 'k8s-check', 'check.sh');
const dockerLint = join(repo, 'tools', 'k8s-check', 'docker-lint.sh');

function run(script: string, argument: string): { status: number | null; output: string } {
  const result = spawnSync(script, [argument], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const scratchDirs: string[] = [];
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'granary-k8s-check-'));
  scratchDirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A copy of k8s/ with `edit` applied to one file; returns the copy's path. */
function k8sTreeWith(file: string, edit: (text: string) => string): string {
  const copy = join(scratch(), 'k8s');
  cpSync(join(repo, 'k8s'), copy, { recursive: true });
  const path = join(copy, file);
  const before = readFileSync(path, 'utf8');
  const after = edit(before);
  expect(after, `the edit of ${file} must change it`).not.toBe(before);
  writeFileSync(path, after);
  return copy;
}

describe('tools/k8s-check/check.sh', () => {
  // The first run on a fresh machine builds kustomize and kubeconform from the Go module proxy.
  beforeAll(() => {
    run(k8sCheck, join(repo, 'k8s'));
  }, 600_000);

  it('accepts the manifests as committed, rendering the base and every overlay', () => {
    const { status, output } = run(k8sCheck, join(repo, 'k8s'));
    expect(output).toMatch(/ok {3}overlays\/dev:/);
    expect(output).toMatch(/ok {3}overlays\/prod:/);
    expect(status).toBe(0);
  });

  it('rejects a field of the wrong type', () => {
    const tree = k8sTreeWith('base/processor.yaml', (text) => text.replace('replicas: 1', 'replicas: "two"'));
    const { status, output } = run(k8sCheck, tree);
    expect(output).toContain('/spec/replicas');
    expect(status).not.toBe(0);
  });

  it('rejects a misspelt field (strict mode)', () => {
    const tree = k8sTreeWith('base/api.yaml', (text) =>
      text.replace('readOnlyRootFilesystem: true', 'readOnlyRootFileSystem: true'),
    );
    const { status, output } = run(k8sCheck, tree);
    expect(output).toContain("additional properties 'readOnlyRootFileSystem' not allowed");
    expect(status).not.toBe(0);
  });

  it('rejects a KafkaTopic the Strimzi CRD would refuse', () => {
    const tree = k8sTreeWith('base/kafka-topics.yaml', (text) =>
      text.replace('partitions: 64', 'partitions: 0'),
    );
    const { status, output } = run(k8sCheck, tree);
    expect(output).toContain('/spec/partitions');
    expect(status).not.toBe(0);
  });

  it('rejects a kind that has no vendored schema rather than skipping it', () => {
    const tree = k8sTreeWith(
      'base/serviceaccount.yaml',
      (text) => `${text}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: stray\n`,
    );
    const { status, output } = run(k8sCheck, tree);
    expect(output).toContain('could not find schema for Pod');
    expect(status).not.toBe(0);
  });

  it('rejects a Secret inlined in the manifests', () => {
    const tree = k8sTreeWith(
      'base/serviceaccount.yaml',
      (text) =>
        `${text}---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: granary-credentials\nstringData:\n  DATABASE_URL: postgres://granary:hunter2@db/granary\n`,
    );
    const { status, output } = run(k8sCheck, tree);
    expect(output).toContain('renders a Secret');
    expect(status).not.toBe(0);
  });

  it('rejects an overlay that kustomize cannot render', () => {
    const tree = k8sTreeWith('overlays/dev/kustomization.yaml', (text) =>
      text.replace('  - namespace.yaml\n', '  - missing.yaml\n'),
    );
    const { status, output } = run(k8sCheck, tree);
    expect(output).toContain('FAIL overlays/dev: kustomize build failed');
    expect(status).not.toBe(0);
  });
});

describe('tools/k8s-check/docker-lint.sh', () => {
  beforeAll(() => {
    run(dockerLint, join(repo, 'Dockerfile'));
  }, 300_000);

  function dockerfileWith(edit: (text: string) => string): string {
    const path = join(scratch(), 'Dockerfile');
    const before = readFileSync(join(repo, 'Dockerfile'), 'utf8');
    const after = edit(before);
    expect(after).not.toBe(before);
    writeFileSync(path, after);
    return path;
  }

  it('accepts the Dockerfile as committed', () => {
    const { status, output } = run(dockerLint, join(repo, 'Dockerfile'));
    expect(output).toContain('ok ');
    expect(status).toBe(0);
  });

  it('rejects a floating base image tag', () => {
    const path = dockerfileWith((text) => text.replace(/^ARG NODE_IMAGE=.*$/m, 'ARG NODE_IMAGE=node:latest'));
    const { status, output } = run(dockerLint, path);
    expect(output).toContain('is not pinned');
    expect(status).not.toBe(0);
  });

  it('rejects an image that runs as root', () => {
    const path = dockerfileWith((text) => text.replace(/^USER .*$/m, 'USER root'));
    const { status, output } = run(dockerLint, path);
    expect(output).toContain('DL3002');
    expect(status).not.toBe(0);
  });
});

describe('app configuration files', () => {
  /**
   * The apps reject unknown keys at start-up, so a typo in a ConfigMap is a crash loop in the
   * cluster, and one in config/local breaks `make run`. Each file is checked against its app's own
   * schema, with the environment the Deployment (or `make run`) gives it.
   */
  const schemas = {
    poller: PollerConfigSchema,
    ingest: IngestConfigSchema,
    processor: ProcessorConfigSchema,
    api: ApiConfigSchema,
  };
  const deploymentEnvironment = {
    KAFKA_BROKERS: 'granary-kafka-bootstrap:9092',
    S3_ENDPOINT: 'http://granary-s3:9000',
    GRANARY_STORAGE__S3__ACCESS_KEY_ID: 'from-secret',
    GRANARY_STORAGE__S3__SECRET_ACCESS_KEY: 'from-secret',
  };

  for (const [app, schema] of Object.entries(schemas)) {
    it(`k8s/base/config/${app}.yaml is valid and serves the admin port the probes use`, () => {
      const config = loadConfig(schema, {
        file: join(repo, 'k8s', 'base', 'config', `${app}.yaml`),
        // Only the apps that read storage get the S3 Secret (the others reject unknown keys).
        env:
          'storage' in schema.properties
            ? deploymentEnvironment
            : { KAFKA_BROKERS: 'granary-kafka-bootstrap:9092' },
      });
      expect(config.admin.host).toBe('0.0.0.0');

      const deployment = parseYaml(
        readFileSync(join(repo, 'k8s', 'base', `${app}.yaml`), 'utf8').split('\n---\n')[0]!,
      );
      const container = deployment.spec.template.spec.containers[0];
      const adminPort = container.ports.find((port: { name: string }) => port.name === 'admin');
      expect(adminPort.containerPort).toBe(config.admin.port);
      expect(container.args).toEqual([`dist/${app}.mjs`]);
    });

    it(`config/local/${app}.yaml (make run) is valid and keeps its admin server on loopback`, () => {
      const config = loadConfig(schema, { file: join(repo, 'config', 'local', `${app}.yaml`), env: {} });
      expect(config.admin.host).toBe('127.0.0.1');
      expect(config.admin.port).toBeGreaterThan(0);
    });
  }
});
