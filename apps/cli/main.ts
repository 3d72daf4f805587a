import { runCli } from './src/cli.ts';
import { COMMANDS } from './src/commands.ts';

process.exitCode = await runCli(COMMANDS, process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
});
