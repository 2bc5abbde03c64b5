/**
 * The `weft` command line: finds the command, parses its flags, runs it, and
 * turns every failure into one line on stderr and an exit code (0 done,
 * 1 refused or failed, 2 usage error). `bin/weft.js` calls {@link runCli}.
 *
 * @module
 */
import { CONNECTION_OPTIONS, parseCommandArgs, splitCommand } from './args.js';
import type { CommandContext } from './command.js';
import { COMMANDS, findCommand, suggestCommand } from './commands/index.js';
import { CliError, EXIT, UsageError } from './errors.js';
import { commandHelp, mainHelp } from './help.js';
import { VERSION } from './version.js';

/**
 * Runs one command line.
 *
 * @returns the exit code.
 * @example process.exitCode = await runCli(process.argv.slice(2));
 */
export async function runCli(
  argv: readonly string[],
  ctx: CommandContext = processContext(),
): Promise<number> {
  try {
    const { name, rest } = splitCommand(argv);
    if (name === undefined) return top(rest, ctx);
    const entry = findCommand(name);
    if (!entry) {
      const guess = suggestCommand(name);
      throw new UsageError(`unknown command "${name}"${guess ? ` (did you mean ${guess}?)` : ''}`, '');
    }
    const command = await entry.load();
    const args = parseCommandArgs(command, rest);
    if (args === 'help') {
      ctx.out(commandHelp(command, entry.summary));
      return EXIT.ok;
    }
    return await command.run(args, ctx);
  } catch (error) {
    return report(error, ctx);
  }
}

const CONNECTION_FLAGS = new Set(Object.keys(CONNECTION_OPTIONS).map((f) => `--${f}`));

/** `weft`, `weft --help`, `weft --version`: no command given. */
function top(flags: readonly string[], ctx: CommandContext): number {
  if (flags.length === 0 || flags.every((f) => f === '--help' || f === '-h')) {
    ctx.out(mainHelp(COMMANDS, VERSION));
    return EXIT.ok;
  }
  if (flags.length === 1 && flags[0] === '--version') {
    ctx.out(`weft ${VERSION}`);
    return EXIT.ok;
  }
  // Only the name: `--token=...` must not echo the token.
  const flag = (flags.find((f) => !['--help', '-h', '--version'].includes(f)) ?? flags[0]!).split('=')[0]!;
  if (CONNECTION_FLAGS.has(flag)) {
    throw new UsageError(`${flag} needs a command, as in \`weft get services ${flag} ...\``, '');
  }
  throw new UsageError(`unknown flag ${flag}`, '');
}

function report(error: unknown, ctx: CommandContext): number {
  if (error instanceof CliError) {
    ctx.err(`error: ${error.message}`);
    for (const line of error.details) ctx.err(line);
    return error.exitCode;
  }
  // A bug, not an operator's mistake: one line by default, the stack on request.
  const message = error instanceof Error ? error.message : String(error);
  ctx.err(`error: unexpected failure: ${message} (set WEFT_DEBUG=1 for details)`);
  if (ctx.env.WEFT_DEBUG) ctx.err(String((error as Error)?.stack ?? error));
  return EXIT.failed;
}

function processContext(): CommandContext {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdin: process.stdin,
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  };
}
