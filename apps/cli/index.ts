/** Public surface of @granary/app-cli: the `granary` command, runnable in-process (tests, tools). */
export { runCli } from './src/cli.ts';
export type { RunOptions } from './src/cli.ts';
export { COMMANDS } from './src/commands.ts';
export { EXIT_CODES, cliErrors } from './src/errors.ts';
export type { CliErrorCode, ExitCode } from './src/errors.ts';
