import { loadConfig } from '@granary/config';
import { type Command, type CommandContext, type OptionValues, parseCommandLine } from './command.ts';
import { type CliConfig, CliConfigSchema } from './config.ts';
import { EXIT_CODES, type ExitCode, cliErrors, errorAsJson, exitCodeFor } from './errors.ts';
import { renderCommandHelp, renderOverview } from './help.ts';
import { Output, type Streams } from './output.ts';

export interface RunOptions {
  /** Environment for the configuration; by default `loadConfig` reads the process's. */
  env?: Record<string, string | undefined>;
}

/** The command `argv` names: the one with the longest path that prefixes it. */
function findCommand(commands: readonly Command[], argv: readonly string[]): Command | undefined {
  let found: Command | undefined;
  for (const command of commands) {
    const matches = command.path.every((word, i) => argv[i] === word);
    if (matches && command.path.length > (found?.path.length ?? 0)) found = command;
  }
  return found;
}

/** Leading words of `argv` that name a group of commands (`granary offsets` → `['offsets']`). */
function groupPrefix(commands: readonly Command[], argv: readonly string[]): string[] {
  const prefix: string[] = [];
  for (const word of argv) {
    const candidate = [...prefix, word];
    if (!commands.some((c) => candidate.every((w, i) => c.path[i] === w))) break;
    prefix.push(word);
  }
  return prefix;
}

/**
 * Run one command line and return the exit status. Results go to stdout (text or `--json`);
 * a failure is reported once on stderr, as `{code, message}` JSON under `--json`.
 */
export async function runCli(
  commands: readonly Command[],
  argv: readonly string[],
  streams: Streams,
  options: RunOptions = {},
): Promise<ExitCode> {
  const json = argv.includes('--json');
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  try {
    const command = findCommand(commands, argv);
    if (!command) {
      const prefix = groupPrefix(commands, argv);
      if (wantsHelp || (prefix.length > 0 && prefix.length === argv.length)) {
        (wantsHelp ? streams.stdout : streams.stderr).write(renderOverview(commands, prefix));
        return wantsHelp ? EXIT_CODES.ok : EXIT_CODES.usage;
      }
      const word = argv.find((a) => !a.startsWith('-'));
      throw cliErrors(
        'CLI_USAGE',
        word ? `unknown command '${[...prefix, word].join(' ')}'` : 'no command given (see granary --help)',
      );
    }
    const parsed = parseCommandLine(command, argv.slice(command.path.length));
    if (parsed.options.help) {
      streams.stdout.write(renderCommandHelp(command));
      return EXIT_CODES.ok;
    }
    const output = new Output(streams, json);
    let config: CliConfig | undefined;
    const context: CommandContext = {
      output,
      config: () => {
        config ??= loadConfig(CliConfigSchema, {
          file: parsed.options.config as string | undefined,
          env: options.env,
        });
        return config;
      },
    };
    const outcome = await command.run(
      { options: parsed.options as OptionValues<typeof command.options>, positionals: parsed.positionals },
      context,
    );
    if (json) {
      if (outcome.json !== undefined) output.line(JSON.stringify(outcome.json));
    } else if (outcome.text) {
      output.line(outcome.text);
    }
    return outcome.exitCode ?? EXIT_CODES.ok;
  } catch (error) {
    const exitCode = exitCodeFor(error);
    if (json) streams.stderr.write(`${JSON.stringify(errorAsJson(error))}\n`);
    else {
      const { code, message } = errorAsJson(error);
      streams.stderr.write(`granary: ${message} [${code}]\n`);
      if (exitCode === EXIT_CODES.usage) streams.stderr.write('Run `granary --help` for usage.\n');
    }
    return exitCode;
  }
}
