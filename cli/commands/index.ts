/**
 * Every `weft` command, in the order `weft help` lists them.
 *
 * @module
 */
import type { Command } from '../command.js';
import { agentCommand } from './agent.js';
import { applyCommand } from './apply.js';
import { deleteCommand } from './delete.js';
import { getCommand } from './get.js';
import { createHelpCommand } from './help.js';
import { serveCommand } from './serve.js';
import { svidCommand } from './svid.js';
import { tokenCommand } from './token.js';
import { upCommand } from './up.js';

export const COMMANDS: readonly Command[] = [
  upCommand,
  serveCommand,
  applyCommand,
  getCommand,
  deleteCommand,
  tokenCommand,
  svidCommand,
  agentCommand,
  createHelpCommand(() => COMMANDS),
];

/** The command called `name`, if any. */
export function findCommand(name: string): Command | undefined {
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
