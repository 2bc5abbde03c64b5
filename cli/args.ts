/**
 * Argument parsing shared by every command: `node:util` parseArgs in strict
 * mode, with its errors rewritten as one-line usage errors that name the
 * `--help` to read.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import type { Command, FlagDoc, OptionsConfig, ParsedArgs } from './command.js';
import { UsageError } from './errors.js';

/** The flags of every command that talks to the API. */
export const CONNECTION_OPTIONS = {
  server: { type: 'string' },
  cloud: { type: 'string' },
  token: { type: 'string' },
  data: { type: 'string' },
} as const satisfies OptionsConfig;

export const CONNECTION_FLAG_DOCS: readonly FlagDoc[] = [
  ['--server URL', 'the weft API (env WEFT_SERVER; default http://127.0.0.1:7070)'],
  ['--cloud CLOUD', "a federated mesh's control plane by cloud (aws, gcp, azure), from DATA/federation.json"],
  ['--token TOKEN', 'operator token (env WEFT_TOKEN; default: DATA/admin-token for a local server)'],
  ['--data DIR', 'local data directory holding admin-token (env WEFT_DATA; default .weft)'],
];

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const satisfies OptionsConfig;

/** Flags that take a value and may stand before the command name: `weft --server URL get svc`. */
const LEADING_VALUE_FLAGS = new Set(['--server', '--token', '--data']);

/**
 * Finds the command name: the first word that is neither a flag nor the value
 * of a leading connection flag. Everything else is left for the command.
 */
export function splitCommand(argv: readonly string[]): { name: string | undefined; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (LEADING_VALUE_FLAGS.has(arg)) {
      i++;
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      return { name: arg, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
    }
  }
  return { name: undefined, rest: [...argv] };
}

/** The parsed arguments, or `'help'` when `-h`/`--help` was given. */
export function parseCommandArgs(command: Command, argv: readonly string[]): ParsedArgs | 'help' {
  const options: OptionsConfig = {
    ...command.options,
    ...(command.connects ? CONNECTION_OPTIONS : {}),
    ...HELP_OPTION,
  };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(describeParseError(error), command.name);
  }
  if (parsed.values.help === true) return 'help';
  const { min, max } = command.positionals;
  const words = parsed.positionals;
  if (words.length < min) {
    // The synopsis names the required arguments first: `delete KIND NAME [flags]`.
    throw new UsageError(
      `weft ${command.name} needs ${command.usage
        .split(' ')
        .slice(1, min + 1)
        .join(' ')}`,
      command.name,
    );
  }
  if (words.length > max) {
    throw new UsageError(`unexpected argument "${words[max]}"`, command.name);
  }
  return { values: parsed.values, positionals: words };
}

/** parseArgs messages are long and name no fix; say the one thing that is wrong. */
function describeParseError(error: unknown): string {
  const code = (error as { code?: string }).code;
  const message = (error as Error).message ?? String(error);
  // "Option '-n, --namespace <value>' argument missing" -> "-n, --namespace"
  const flag = /'(-[^']*?)(?: <value>)?'/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown flag ${flag ?? message}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (message.includes('does not take an argument')) return `flag ${flag} takes no value`;
    return `flag ${flag} needs a value`;
  }
  return message.split('\n')[0]!;
}

/**
 * A port flag: an integer from 0 to 65535, where 0 asks for any free port.
 *
 * @throws UsageError for anything else.
 */
export function portFlag(value: string | undefined, flag: string, command: string, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new UsageError(
      `--${flag} must be a port from 0 to 65535 (0: any free port), got "${value}"`,
      command,
    );
  }
  return port;
}
