import { kafkaErrors } from '@granary/kafka';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.ts';
import { defineCommand } from '../src/command.ts';
import { COMMANDS } from '../src/commands.ts';
import { cliErrors } from '../src/errors.ts';
import { captureStreams } from './support.ts';

const echo = defineCommand({
  path: ['demo', 'echo'],
  summary: 'prints its argument',
  positionals: [{ name: 'word', description: 'what to print' }],
  options: {
    shout: { type: 'boolean', description: 'upper case' },
    times: { type: 'string', valueName: '<n>', description: 'repeat' },
  },
  async run({ options, positionals }) {
    const word = options.shout ? positionals[0]!.toUpperCase() : positionals[0]!;
    const words = Array.from({ length: Number(options.times ?? 1) }, () => word);
    return { json: { words }, text: words.join(' ') };
  },
});
const failing = (error: unknown) =>
  defineCommand({
    path: ['demo', 'fail'],
    summary: 'fails',
    options: {},
    async run() {
      throw error;
    },
  });

describe('command framework', () => {
  it('runs a command with its options and prints text, or JSON under --json', async () => {
    const text = captureStreams();
    expect(await runCli([echo], ['demo', 'echo', 'hi', '--shout', '--times', '2'], text)).toBe(0);
    expect(text.out()).toBe('HI HI\n');

    const json = captureStreams();
    expect(await runCli([echo], ['demo', 'echo', 'hi', '--json'], json)).toBe(0);
    expect(JSON.parse(json.out())).toEqual({ words: ['hi'] });
  });

  it('exits 2 on usage errors, with the reason on stderr and nothing on stdout', async () => {
    for (const argv of [
      ['demo', 'echo'],
      ['demo', 'echo', 'a', 'b'],
      ['demo', 'echo', 'a', '--loud'],
      ['nothing'],
      [],
    ]) {
      const streams = captureStreams();
      expect(await runCli([echo], argv, streams)).toBe(2);
      expect(streams.out()).toBe('');
      expect(streams.err()).toContain('[CLI_USAGE]');
    }
  });

  it('lists the commands of a group when the subcommand is missing (exit 2) or help is asked (exit 0)', async () => {
    const missing = captureStreams();
    expect(await runCli([echo], ['demo'], missing)).toBe(2);
    expect(missing.err()).toContain('demo echo');

    const asked = captureStreams();
    expect(await runCli([echo], ['demo', '--help'], asked)).toBe(0);
    expect(asked.out()).toContain('demo echo  prints its argument');
  });

  it('maps failures to exit codes: refusals 3, operational failures 1', async () => {
    const refused = captureStreams();
    expect(await runCli([failing(cliErrors('CLI_GROUP_ACTIVE', 'g'))], ['demo', 'fail'], refused)).toBe(3);
    expect(refused.err()).toBe(
      'granary: Consumer group has active members; stop them before moving its offsets: g [CLI_GROUP_ACTIVE]\n',
    );

    const failed = captureStreams();
    expect(await runCli([failing(kafkaErrors('KAFKA_UNAVAILABLE', 'x'))], ['demo', 'fail'], failed)).toBe(1);
    expect(failed.err()).toContain('[KAFKA_UNAVAILABLE]');
  });

  it('reports a failure under --json as one object with code and message on stderr', async () => {
    const streams = captureStreams();
    expect(await runCli([failing(new Error('boom'))], ['demo', 'fail', '--json'], streams)).toBe(1);
    expect(streams.out()).toBe('');
    expect(JSON.parse(streams.err())).toEqual({ code: 'CLI_UNEXPECTED', message: 'boom' });
  });

  it('loads no configuration for --help, so help works without any service or config file', async () => {
    const streams = captureStreams();
    const env = { GRANARY_CONFIG: '/nonexistent/granary.yaml' };
    expect(await runCli(COMMANDS, ['topics', 'apply', '--help'], streams, { env })).toBe(0);
  });

  it('reports an invalid configuration as an operational failure naming the key', async () => {
    const streams = captureStreams();
    const env = { GRANARY_KAFKA__CLIENT_ID: '{"not": "a string"}' };
    expect(await runCli(COMMANDS, ['topics', 'apply', '--dry-run'], streams, { env })).toBe(1);
    expect(streams.err()).toContain("key 'kafka.clientId'");
  });
});

describe('every granary command', () => {
  it.each(COMMANDS.map((c) => [c.path.join(' '), c] as const))(
    '%s has --help with usage and exit codes',
    async (_name, command) => {
      const streams = captureStreams();
      expect(await runCli(COMMANDS, [...command.path, '--help'], streams)).toBe(0);
      expect(streams.out()).toContain(`Usage: granary ${command.path.join(' ')}`);
      expect(streams.out()).toContain('Exit codes: 0 done');
    },
  );

  it('appears in granary --help', async () => {
    const streams = captureStreams();
    expect(await runCli(COMMANDS, ['--help'], streams)).toBe(0);
    for (const command of COMMANDS) expect(streams.out()).toContain(command.path.join(' '));
  });
});
