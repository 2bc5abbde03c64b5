/**
 * Help text: `weft --help` lists the commands, `weft COMMAND --help` shows
 * one command's synopsis, flags and examples in one fixed layout.
 *
 * @module
 */
import { KIND_INFO, KINDS } from '../shared/model/kinds.js';
import { CONNECTION_FLAG_DOCS } from './args.js';
import type { Command, FlagDoc } from './command.js';

const HELP_FLAG: FlagDoc = ['-h, --help', 'show this help'];

/** The help of one command; `summary` is its line in the registry. */
export function commandHelp(command: Command, summary: string): string {
  const sections = [
    `weft ${command.name}: ${summary}`,
    `Usage:\n  weft ${command.usage}`,
    command.description,
    `Flags:\n${flagLines([...command.flags, HELP_FLAG])}`,
  ];
  if (command.connects) sections.push(`Connection flags:\n${flagLines(CONNECTION_FLAG_DOCS)}`);
  sections.push(`Examples:\n${command.examples.map((e) => `  ${e}`).join('\n')}`);
  return sections.join('\n\n');
}

/** The overview `weft`, `weft help` and `weft --help` print. */
export function mainHelp(
  commands: readonly { readonly name: string; readonly summary: string }[],
  version: string,
): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const kinds = KINDS.map((k) => {
    const { plural, short } = KIND_INFO[k];
    return short[0] ? `${plural} (${short[0]})` : plural;
  }).join(', ');
  return [
    `weft ${version}: a cross-cloud service mesh whose control plane is cloud functions.`,
    'Usage:\n  weft COMMAND [flags]',
    `Commands:\n${commands.map((c) => `  ${c.name.padEnd(width)}   ${c.summary}`).join('\n')}`,
    `Flags:\n${flagLines([
      ['-h, --help', 'show help; weft COMMAND --help for one command'],
      ['--version', 'print the version'],
    ])}`,
    `Kinds:\n  ${kinds}`,
    'Exit codes:\n  0 done, 1 refused or failed (the API said no, or could not be reached), 2 usage error',
    'Start here:\n  weft up                 run the local mesh with the demo\n  weft get services       see what it holds',
  ].join('\n\n');
}

function flagLines(flags: readonly FlagDoc[]): string {
  const width = Math.max(...flags.map(([flag]) => flag.length));
  return flags.map(([flag, text]) => `  ${flag.padEnd(width)}   ${text}`).join('\n');
}
