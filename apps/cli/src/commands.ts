import type { Command } from './command.ts';
import { authHashPassword } from './commands/auth.ts';
import { devReset } from './commands/dev-reset.ts';
import { dlqRedrive, dlqShow } from './commands/dlq.ts';
import { dump } from './commands/dump.ts';
import { indexUpgrade } from './commands/index-upgrade.ts';
import { measures, resources } from './commands/lookups.ts';
import { offsetsReset, offsetsShow } from './commands/offsets.ts';
import { rebuild } from './commands/rebuild.ts';
import { replay } from './commands/replay.ts';
import { topicsApply } from './commands/topics.ts';

/** Every `granary` command, in the order `granary --help` lists them. */
export const COMMANDS: readonly Command[] = [
  resources,
  measures,
  topicsApply,
  dump,
  replay,
  rebuild,
  offsetsShow,
  offsetsReset,
  dlqShow,
  dlqRedrive,
  indexUpgrade,
  devReset,
  authHashPassword,
] as readonly Command[];
