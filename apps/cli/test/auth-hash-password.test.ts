import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BasicAuthenticator } from '@granary/rest';
import { describe, expect, it } from 'vitest';

const granary = resolve(import.meta.dirname, '../bin/granary');

describe('granary auth hash-password', () => {
  it('prints a salted hash of stdin (trailing newline dropped) that basic auth accepts', async () => {
    const hash = (input: string) => {
      const run = spawnSync(granary, ['auth', 'hash-password'], { input, encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      return run.stdout.trim();
    };
    const first = hash('correct horse\n');
    expect(first).not.toBe(hash('correct horse\n'));
    const usersFile = join(mkdtempSync(join(tmpdir(), 'granary-cli-auth-')), 'users.yaml');
    writeFileSync(usersFile, `users:\n  - name: alice\n    password: "${first}"\n`);
    const auth = new BasicAuthenticator({ usersFile, cacheSize: 0, cacheTtlSeconds: 0 });
    await expect(auth.authenticate({ user: 'alice', password: 'correct horse' })).resolves.toMatchObject({
      userId: 'alice',
    });
    await expect(auth.authenticate({ user: 'alice', password: 'correct horse\n' })).rejects.toMatchObject({
      code: 'REST_UNAUTHENTICATED',
    });
  });
});
