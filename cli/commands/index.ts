/**
 * Every `weft` command, in the order `weft help` lists them.
 *
 * @module
 */
import type { Command } from '../command.js';
import { createHelpCommand } from './help.js';

/**
 * A command as the registry knows it before it is needed: its name and the
 * line `weft --help` shows, and how to load the rest. Each command's module
 * (and what it imports: the local mesh, the YAML parser, the control plane)
 * loads only when that command runs, so `weft --help` and `weft get` start
 * in a few milliseconds past Node's own start.
 */
export interface CommandEntry {
  readonly name: string;
  /** One line for `weft help`. */
  readonly summary: string;
  load(): Promise<Command>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'up',
    summary: 'Run the local mesh: the API, the demo mesh, its gateway agents and services (npm start)',
    load: async () => (await import('./up.js')).upCommand,
  },
  {
    name: 'serve',
    summary: 'Run the local API host alone (no demo, no agents)',
    load: async () => (await import('./serve.js')).serveCommand,
  },
  {
    name: 'apply',
    summary: 'Create or update resources from YAML or JSON documents',
    load: async () => (await import('./apply.js')).applyCommand,
  },
  {
    name: 'get',
    summary: 'Show resources as a table, YAML or JSON',
    load: async () => (await import('./get.js')).getCommand,
  },
  {
    name: 'delete',
    summary: 'Delete one resource',
    load: async () => (await import('./delete.js')).deleteCommand,
  },
  {
    name: 'token',
    summary: 'Create a one-time join token for an agent or workload',
    load: async () => (await import('./token.js')).tokenCommand,
  },
  {
    name: 'svid',
    summary: 'Inspect an X.509-SVID or JWT-SVID, or mint a JWT-SVID (admin)',
    load: async () => (await import('./svid.js')).svidCommand,
  },
  {
    name: 'ca',
    summary: "A federated mesh's identity: the offline root, each cloud's CA and intermediates",
    load: async () => (await import('./ca.js')).caCommand,
  },
  {
    name: 'agent',
    summary: 'Run a gateway agent: attest, rotate credentials, sync config, carry traffic',
    load: async () => (await import('./agent.js')).agentCommand,
  },
  {
    name: 'help',
    summary: 'Show help for weft or one command',
    load: async () => createHelpCommand(() => COMMANDS),
  },
];

/** The command called `name`, if any. */
export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** The closest command name, for "did you mean"; `undefined` when none is close. */
export function suggestCommand(name: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const command of COMMANDS) {
    const distance = editDistance(name, command.name);
    if (distance <= 2 && (!best || distance < best.distance)) best = { name: command.name, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}
