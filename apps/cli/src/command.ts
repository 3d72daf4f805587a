import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { CliConfig } from './config.ts';
import type { ExitCode } from './errors.ts';
import { cliErrors } from './errors.ts';
import type { Output } from './output.ts';

export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
  /** Placeholder shown in help, e.g. `<group>`. */
  valueName?: string;
  multiple?: boolean;
  short?: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

/** Parsed option values, typed from their specs. */
export type OptionValues<Options extends OptionSpecs> = {
  [Name in keyof Options]: Options[Name]['type'] extends 'boolean'
    ? boolean
    : Options[Name]['multiple'] extends true
      ? string[]
      : string | undefined;
};

export interface PositionalSpec {
  name: string;
  description: string;
  optional?: boolean;
}

/** What every command gets besides its arguments. */
export interface CommandContext {
  /** The configuration (loaded on first use, so `--help` and usage errors need none). */
  config(): CliConfig;
  output: Output;
}

/** What a command hands back: the data for `--json`, the text for people, and its exit code. */
export interface CommandOutcome {
  json: unknown;
  text: string;
  /** 0 unless the command finished but must signal a conflict (e.g. topic drift it cannot fix). */
  exitCode?: ExitCode;
}

export interface Command<Options extends OptionSpecs = OptionSpecs> {
  /** Words after `granary`, e.g. `['offsets', 'reset']`. */
  path: readonly string[];
  summary: string;
  /** Paragraphs shown under the usage line in `--help`. */
  description?: string;
  positionals?: readonly PositionalSpec[];
  options: Options;
  run(
    args: { options: OptionValues<Options>; positionals: string[] },
    context: CommandContext,
  ): Promise<CommandOutcome>;
}

/** Identity with inference, so each command's `run` sees its own option types. */
export function defineCommand<const Options extends OptionSpecs>(
  command: Command<Options>,
): Command<Options> {
  return command;
}

/** Options every command accepts. */
export const GLOBAL_OPTIONS = {
  json: { type: 'boolean', description: 'print one JSON document (or JSON lines) on stdout instead of text' },
  config: {
    type: 'string',
    valueName: '<file>',
    description: 'YAML configuration file (default: $GRANARY_CONFIG; endpoints from KAFKA_BROKERS, …)',
  },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies OptionSpecs;

export interface ParsedCommandLine {
  options: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Parse a command's arguments strictly; every mistake is a CLI_USAGE error naming the command. */
export function parseCommandLine(command: Command, args: readonly string[]): ParsedCommandLine {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, spec] of Object.entries({ ...GLOBAL_OPTIONS, ...command.options } as OptionSpecs)) {
    options[name] = {
      type: spec.type,
      ...(spec.short ? { short: spec.short } : {}),
      ...(spec.multiple ? { multiple: true } : {}),
    };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (cause) {
    throw cliErrors('CLI_USAGE', `granary ${command.path.join(' ')}: ${(cause as Error).message}`, { cause });
  }
  const values = { ...parsed.values } as ParsedCommandLine['options'];
  for (const [name, spec] of Object.entries(command.options)) {
    if (spec.type === 'boolean') values[name] ??= false;
    else if (spec.multiple) values[name] ??= [];
  }
  if (values.help) return { options: values, positionals: parsed.positionals };
  const expected = command.positionals ?? [];
  const required = expected.filter((p) => !p.optional).length;
  if (parsed.positionals.length < required || parsed.positionals.length > expected.length) {
    const names = expected.map((p) => (p.optional ? `[${p.name}]` : p.name)).join(' ') || 'none';
    throw cliErrors(
      'CLI_USAGE',
      `granary ${command.path.join(' ')} takes ${names} as arguments, got ${parsed.positionals.length}`,
    );
  }
  return { options: values, positionals: parsed.positionals };
}
