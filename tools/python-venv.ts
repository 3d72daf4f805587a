import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A venv at `directory` with the pinned packages of `requirements` (a PyPI requirements file),
 * rebuilt only when that file changes; returns the directory's `bin/`. The Python tools the test
 * targets run (gabbi, schemathesis) are installed this way, by the project itself.
 * `exactly`: install only the listed packages (pip --no-deps), for a file that pins every package
 * it needs and lists one whose own dependencies are not wanted.
 */
export function ensureVenv(directory: string, requirements: string, { exactly = false } = {}): string {
  const digest = createHash('sha256').update(readFileSync(requirements)).digest('hex');
  const stamp = join(directory, '.requirements.sha256');
  const bin = join(directory, 'bin');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return bin;
  const run = (command: string, args: string[]) => {
    const result = spawnSync(command, args, { stdio: 'inherit' });
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status})`);
  };
  run('python3', ['-m', 'venv', directory]);
  run(join(bin, 'pip'), [
    'install',
    '--quiet',
    '--disable-pip-version-check',
    ...(exactly ? ['--no-deps'] : []),
    '-r',
    requirements,
  ]);
  writeFileSync(stamp, digest);
  return bin;
}
