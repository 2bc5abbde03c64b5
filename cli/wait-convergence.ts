/**
 * `weft apply --wait`: polls the API's convergence report for a change until
 * every gateway it targets has applied it, with one progress line.
 *
 * @module
 */

import { sleep } from '../shared/model/backoff.js';
import type { ApiClient } from './api-client.js';
import type { CommandContext } from './command.js';
import { RequestError } from './errors.js';
import type { ActionResult } from './output/actions.js';

/** `GET /v1/changes/{version}/convergence` (docs/distribution.md §5). */
export interface Convergence {
  readonly version: string;
  readonly compiled: boolean;
  readonly targeted: number;
  readonly applied: number;
  readonly lagging: readonly { readonly gateway: string; readonly appliedVersion?: string | null }[];
}

export interface WaitOptions {
  readonly timeoutMs: number;
  /** @default 250 */
  readonly intervalMs?: number;
  /** Stops waiting (the abort reason is thrown). */
  readonly signal?: AbortSignal;
}

/**
 * The version to wait for: the greatest one this apply wrote. `undefined`
 * when it wrote nothing (all unchanged), so there is nothing to wait for.
 */
export function versionToWaitFor(results: readonly ActionResult[]): string | undefined {
  const written = results
    .filter((r) => r.action !== 'unchanged' && r.version)
    .map((r) => r.version!)
    .sort();
  return written.at(-1);
}

/**
 * Waits until `applied == targeted` for `version`.
 *
 * @throws RequestError after `timeoutMs`, naming the gateways that lag.
 */
export async function waitForConvergence(
  client: ApiClient,
  version: string,
  ctx: CommandContext,
  options: WaitOptions,
): Promise<Convergence> {
  const deadline = Date.now() + options.timeoutMs;
  let last: Convergence | undefined;
  let shown = '';
  for (;;) {
    options.signal?.throwIfAborted();
    last = await client.request<Convergence>(
      'GET',
      `/v1/changes/${encodeURIComponent(version)}/convergence`,
      {
        notFoundHint: 'this control plane does not distribute config (no convergence to wait for)',
      },
    );
    if (last.compiled && last.applied >= last.targeted) {
      ctx.err(`converged: ${last.applied}/${last.targeted} gateways applied ${version}`);
      return last;
    }
    // A line when something moved, not one per poll.
    const line = progress(last);
    if (line !== shown) ctx.err(line);
    shown = line;
    if (Date.now() >= deadline) {
      const lagging = last.lagging
        .map((l) => `${l.gateway} (at ${l.appliedVersion ?? 'nothing'})`)
        .join(', ');
      throw new RequestError(
        `not converged after ${Math.round(options.timeoutMs / 1000)}s: ${last.applied}/${last.targeted} applied; lagging: ${lagging || 'compile pending'}; check those agents (weft get gateways) or wait longer with --timeout`,
      );
    }
    await sleep(options.intervalMs ?? 250, options.signal);
  }
}

function progress(c: Convergence): string {
  if (!c.compiled) return `waiting for the change ${c.version} to compile...`;
  const names = c.lagging.slice(0, 3).map((l) => l.gateway);
  const more = c.lagging.length > 3 ? ` and ${c.lagging.length - 3} more` : '';
  return `waiting: ${c.applied}/${c.targeted} gateways applied${names.length ? ` (lagging: ${names.join(', ')}${more})` : ''}`;
}
