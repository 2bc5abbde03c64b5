/**
 * `weft help [COMMAND]`.
 *
 * @module
 */
import type { Command } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { commandHelp, mainHelp } from '../help.js';
import { VERSION } from '../version.js';
import type { CommandEntry } from './index.js';

/**
 * The help command, given the registry it describes (passed in, so the
 * registry can list this command too without an import cycle).
 */
export function createHelpCommand(commands: () => readonly CommandEntry[]): Command {
  return {
    name: 'help',
    usage: 'help [COMMAND]',
    description: 'The same as `weft --help` or `weft COMMAND --help`.',
    flags: [],
    examples: ['weft help', 'weft help apply'],
    options: {},
    positionals: { min: 0, max: 1 },
    connects: false,
    async run({ positionals }, ctx) {
      const name = positionals[0];
      if (name === undefined) {
        ctx.out(mainHelp(commands(), VERSION));
        return EXIT.ok;
      }
      const entry = commands().find((c) => c.name === name);
      if (!entry) throw new UsageError(`unknown command "${name}"`, '');
      ctx.out(commandHelp(await entry.load(), entry.summary));
      return EXIT.ok;
    },
  };
}
