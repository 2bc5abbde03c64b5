/**
 * What every `weft` subcommand is: its flags, its help, and a `run` that
 * returns an exit code. The registry is `commands/index.ts`, which holds
 * each command's one-line summary and loads its module only when it runs.
 *
 * @module
 */
import type { ParseArgsConfig } from 'node:util';

/** The `options` of node:util parseArgs (not exported by name in Node 20's types). */
export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** The process around a command, passed in so commands never reach for globals. */
export interface CommandContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  /** Writes one or more lines to stdout. */
  out(text: string): void;
  /** Writes one or more lines to stderr. */
  err(text: string): void;
}

/** Flag values as `node:util` parseArgs returns them. */
export type FlagValues = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

export interface ParsedArgs {
  readonly values: FlagValues;
  readonly positionals: readonly string[];
}

/** One flag as `--help` shows it: `['-n, --namespace NS', 'only this namespace']`. */
export type FlagDoc = readonly [flag: string, text: string];

export interface Command {
  readonly name: string;
  /** The synopsis after `weft`, e.g. `get KIND [NAME] [flags]`. */
  readonly usage: string;
  /** A paragraph or two under the synopsis. */
  readonly description: string;
  readonly flags: readonly FlagDoc[];
  readonly examples: readonly string[];
  readonly options: OptionsConfig;
  readonly positionals: { readonly min: number; readonly max: number };
  /** Talks to the API: takes `--server`, `--token` and `--data`. */
  readonly connects: boolean;
  run(args: ParsedArgs, ctx: CommandContext): Promise<number>;
}

/** A string flag's value, or `undefined`. */
export function stringFlag(values: FlagValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A repeatable string flag's values (`-f a -f b`). */
export function stringsFlag(values: FlagValues, name: string): string[] {
  const value = values[name];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' ? [value] : [];
}

/** A boolean flag, `false` when absent. */
export function booleanFlag(values: FlagValues, name: string): boolean {
  return values[name] === true;
}
