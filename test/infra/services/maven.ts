import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aptInstall, commandExists, run } from '../process.ts';

/** Java 17 and Maven come with this machine kind; a bare Debian gets them from its packages. */
export function ensureJava(): void {
  const missing = [];
  if (!commandExists('java')) missing.push('openjdk-17-jre-headless');
  if (!commandExists('mvn')) missing.push('maven');
  if (missing.length > 0) aptInstall(missing);
}

/**
 * Copy the runtime classpath of `pomDir/pom.xml` into `outDir`, once: Maven's own repository
 * (~/.m2) caches downloads, and a marker holding the pom's hash skips the copy on later runs.
 */
export function resolveMavenClasspath(pomDir: string, outDir: string): string[] {
  const pom = join(pomDir, 'pom.xml');
  const hash = createHash('sha256').update(readFileSync(pom)).digest('hex');
  const marker = join(outDir, '.pom-sha256');
  if (!existsSync(marker) || readFileSync(marker, 'utf8') !== hash) {
    ensureJava();
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    run('mvn', [
      '-q',
      '-B',
      '-f',
      pom,
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${outDir}`,
    ]);
    writeFileSync(marker, hash);
  }
  return readdirSync(outDir)
    .filter((f) => f.endsWith('.jar'))
    .map((f) => join(outDir, f));
}
