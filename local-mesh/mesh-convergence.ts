/**
 * `weft up` waits, after starting the agents, until every gateway runs the
 * mesh it just applied: the convergence report of the newest version the
 * mesh file holds (docs/distribution.md §5). A mesh that does not converge
 * in time is reported, not fatal: the agents keep trying, and the operator
 * can look at why while everything runs.
 *
 * @module
 */

import type { ApiClient } from '../cli/api-client.js';
import type { CommandContext } from '../cli/command.js';
import { CliError } from '../cli/errors.js';
import type { ActionResult } from '../cli/output/actions.js';
import { waitForConvergence } from '../cli/wait-convergence.js';
import type { GatewaySnapshot } from '../shared/contract/snapshot.js';

/** How long `weft up` waits before it reports the laggards and carries on. */
const CONVERGE_TIMEOUT_MS = 60_000;

/**
 * The newest version among the applied documents, changed or not: on a
 * restart nothing changes, and the gateways must still run that state.
 */
export function meshVersion(results: readonly ActionResult[]): string | undefined {
  return results
    .map((r) => r.version)
    .filter((v): v is string => v !== undefined)
    .sort()
    .at(-1);
}

/**
 * Waits for the gateways to apply `version`, progress on stderr.
 *
 * @returns the summary's line about it.
 * @throws the abort reason when `signal` aborts (Ctrl-C while waiting).
 */
export async function waitForMesh(
  client: ApiClient,
  version: string | undefined,
  ctx: CommandContext,
  signal: AbortSignal,
): Promise<string> {
  if (!version) return 'The mesh file wrote nothing to converge on.';
  try {
    const c = await waitForConvergence(client, version, ctx, { timeoutMs: CONVERGE_TIMEOUT_MS, signal });
    return `Converged: ${c.applied}/${c.targeted} gateways applied the mesh as of ${version}.`;
  } catch (error) {
    if (signal.aborted || !(error instanceof CliError)) throw error;
    ctx.err(`warning: ${error.message}`);
    return `Not converged yet (see the warning above); the agents keep trying. Check: curl <admin>/readyz`;
  }
}

/** What a gateway's admin port says of it: ready or why not, and the version it runs. */
export async function gatewayState(admin: string): Promise<{ ready: boolean; version: string }> {
  try {
    const res = await fetch(`${admin}/readyz`, { signal: AbortSignal.timeout(5_000) });
    const body = (await res.json()) as { version?: string | null };
    return { ready: res.ok, version: body.version ?? 'none yet' };
  } catch {
    return { ready: false, version: 'unknown (admin port not answering)' };
  }
}

/** The snapshot a gateway's agent runs (its `/config`), or `undefined` when it has none or does not answer. */
export async function appliedSnapshot(admin: string): Promise<GatewaySnapshot | undefined> {
  try {
    const res = await fetch(`${admin}/config`, { signal: AbortSignal.timeout(5_000) });
    return res.ok ? ((await res.json()) as GatewaySnapshot) : undefined;
  } catch {
    return undefined;
  }
}
