import { type Command, GLOBAL_OPTIONS, type OptionSpecs } from './command.ts';
import { EXIT_CODES } from './errors.ts';

const EXIT_CODE_TEXT = [
  `Exit codes: ${EXIT_CODES.ok} done; ${EXIT_CODES.failure} failed (service unreachable, bad record, …);`,
  `            ${EXIT_CODES.usage} usage error (nothing done); ${EXIT_CODES.refused} refused or conflict (see the message).`,
].join('\n');

function optionLines(options: OptionSpecs): string[] {
  const entries = Object.entries(options).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.valueName ? ` ${spec.valueName}` : ''}`;
    return [flag, `${spec.description}${spec.multiple ? ' (repeatable)' : ''}`] as const;
  });
  const width = Math.max(...entries.map(([flag]) => flag.length));
  return entries.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`);
}

function usageLine(command: Command): string {
  const positionals = (command.positionals ?? []).map((p) => (p.optional ? `[${p.name}]` : p.name));
  return ['Usage: granary', ...command.path, ...positionals, '[options]'].join(' ');
}

/** `granary <command> --help`. */
export function renderCommandHelp(command: Command): string {
  const sections = [`granary ${command.path.join(' ')}: ${command.summary}`, usageLine(command)];
  if (command.description) sections.push(command.description);
  if (command.positionals?.length) {
    const width = Math.max(...command.positionals.map((p) => p.name.length));
    sections.push(
      ['Arguments:', ...command.positionals.map((p) => `  ${p.name.padEnd(width)}  ${p.description}`)].join(
        '\n',
      ),
    );
  }
  if (Object.keys(command.options).length > 0)
    sections.push(['Options:', ...optionLines(command.options)].join('\n'));
  sections.push(['Global options:', ...optionLines(GLOBAL_OPTIONS)].join('\n'), EXIT_CODE_TEXT);
  return `${sections.join('\n\n')}\n`;
}

/** `granary --help`, or `granary <group> --help` for the commands under `prefix`. */
export function renderOverview(commands: readonly Command[], prefix: readonly string[] = []): string {
  const listed = commands.filter((c) => prefix.every((word, i) => c.path[i] === word));
  const names = listed.map((c) => c.path.join(' '));
  const width = Math.max(...names.map((n) => n.length));
  const title = prefix.length ? `granary ${prefix.join(' ')} <command>` : 'granary <command>';
  return [
    `Usage: ${title} [options]`,
    'Granary operations tooling: resources and measures from the API, topics, records, replay, rebuild, consumer offsets, dead letters, index.',
    ['Commands:', ...listed.map((c, i) => `  ${names[i]!.padEnd(width)}  ${c.summary}`)].join('\n'),
    ['Global options:', ...optionLines(GLOBAL_OPTIONS)].join('\n'),
    `Run \`granary <command> --help\` for a command's options.\n\n${EXIT_CODE_TEXT}`,
  ]
    .join('\n\n')
    .concat('\n');
}
