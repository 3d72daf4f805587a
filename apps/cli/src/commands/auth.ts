import { hashPassword } from '@granary/rest';
import { defineCommand } from '../command.ts';

async function readAll(input: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

export const authHashPassword = defineCommand({
  path: ['auth', 'hash-password'],
  summary: "hash a password read from stdin for the API's basic-auth users file",
  description: [
    'Reads the password from stdin (one trailing newline is dropped, so `echo` works) and prints a',
    'salted scrypt hash for `password:` in the users file (auth.basic.usersFile), e.g.',
    '  printf \'%s\' "$PASSWORD" | granary auth hash-password',
    'Reading stdin keeps the password out of the shell history and the process list.',
  ].join('\n'),
  options: {},
  async run() {
    const password = (await readAll(process.stdin)).replace(/\r?\n$/, '');
    const hash = await hashPassword(password);
    return { json: { hash }, text: hash };
  },
});
