/**
 * Where a `node --cpu-prof` profile spends its time: self and total time per function and self time
 * per source file, bundle positions mapped back to the TypeScript sources through the bundle's
 * source map (the bundle must not have been rebuilt since). As a command:
 * `tsx tools/bench/cpu-profile-summary.ts <file.cpuprofile> [top]`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../../test/infra/settings.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const sourceMaps = new Map<string, SourceMap | undefined>();
function sourceMapOf(url: string): SourceMap | undefined {
  if (!sourceMaps.has(url)) {
    const mapFile = `${fileURLToPath(url)}.map`;
    sourceMaps.set(
      url,
      existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8'))) : undefined,
    );
  }
  return sourceMaps.get(url);
}

const shortPath = (path: string) => {
  const fromRoot = relative(PROJECT_ROOT, path.startsWith('file:') ? fileURLToPath(path) : path);
  return fromRoot.replace(/^(\.\.\/)+/, '');
};

/** "function file:line", in the TypeScript source when the bundle's source map knows the position. */
function placeOf({ functionName, url, lineNumber, columnNumber }: ProfileNode['callFrame']): {
  key: string;
  file: string;
} {
  const name = functionName || '(anonymous)';
  if (!url.startsWith('file:')) return { key: `${name} ${url || '(native)'}`, file: url || name };
  const entry = sourceMapOf(url)?.findEntry(lineNumber, columnNumber);
  if (entry && 'originalSource' in entry && entry.originalSource) {
    const source = shortPath(entry.originalSource);
    return { key: `${name} ${source}:${entry.originalLine + 1}`, file: source };
  }
  const path = shortPath(url);
  return { key: `${name} ${path}:${lineNumber + 1}`, file: path };
}

/** The summary's text: time per source file, self time and total time per function (`top` rows each). */
export function summarizeProfile(file: string, top = 30): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const lines: string[] = [];
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const places = new Map(profile.nodes.map((node) => [node.id, placeOf(node.callFrame)]));

  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const selfByFile = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const micros = profile.timeDeltas[i] ?? 0;
    all += micros;
    const place = places.get(id) as { key: string; file: string };
    self.set(place.key, (self.get(place.key) ?? 0) + micros);
    selfByFile.set(place.file, (selfByFile.get(place.file) ?? 0) + micros);
    const seen = new Set<string>();
    for (let node: number | undefined = id; node !== undefined; node = parentOf.get(node)) {
      const key = places.get(node)?.key as string;
      if (seen.has(key)) continue;
      seen.add(key);
      total.set(key, (total.get(key) ?? 0) + micros);
    }
  });

  const [idle, program, gc] = ['(idle)', '(program)', '(garbage collector)'].map(
    (name) => `${name} (native)`,
  );
  const busy = all - (self.get(idle as string) ?? 0);
  const line = (key: string, micros: number) =>
    `${(micros / 1000).toFixed(0).padStart(8)} ms ${((100 * micros) / busy).toFixed(1).padStart(5)}%  ${key}`;
  const ranked = (map: Map<string, number>) =>
    [...map]
      .filter(([key]) => key !== idle && key !== '(idle)' && key !== '(root) (native)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top);

  const seconds = (micros: number | undefined) => ((micros ?? 0) / 1e6).toFixed(1);
  lines.push(
    `${file}: ${seconds(all)} s sampled, ${seconds(busy)} s not idle; GC ${seconds(self.get(gc as string))} s, (program) ${seconds(self.get(program as string))} s. Percentages of the non-idle time of the main thread (libuv fs work runs on other threads).`,
  );
  lines.push('\nself time per source file:');
  for (const [key, micros] of ranked(selfByFile)) lines.push(line(key, micros));
  lines.push('\nself time per function:');
  for (const [key, micros] of ranked(self)) lines.push(line(key, micros));
  lines.push('\ntotal time per function (callees included):');
  for (const [key, micros] of ranked(total)) lines.push(line(key, micros));
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, top] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: cpu-profile-summary.ts <file.cpuprofile> [top]');
  console.log(summarizeProfile(file, Number(top ?? 30)));
}
