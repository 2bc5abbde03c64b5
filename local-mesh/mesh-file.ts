/**
 * The mesh file `weft up` runs: checked against this machine before
 * anything starts (every loopback address it names can be bound: admin,
 * ingress and egress of each gateway, each demo service), then
 * applied through the API like any operator's apply.
 *
 * @module
 */
import type { ApiClient } from '../cli/api-client.js';
import { applyManifests } from '../cli/apply-manifests.js';
import type { Manifest } from '../cli/manifests.js';
import { type ActionResult, countActions, formatAction } from '../cli/output/actions.js';
import { isLoopbackHost, type LocalMesh } from './local-mesh.js';
import { probeBind, splitAddress } from './loopback.js';

/**
 * Binds and releases every address the local mesh will listen on: a
 * missing loopback alias, or another `weft up` holding them, is one clear
 * line before the control plane even starts.
 *
 * @throws CliError naming the address, who wanted it and what to do.
 */
export async function probeLocalMesh(mesh: LocalMesh): Promise<void> {
  for (const g of mesh.gateways) {
    const ports: [string, string][] = [
      [g.adminAddress, 'admin port'],
      [g.ingressAddress, 'mTLS ingress'],
      [g.egressAddress, 'egress'],
    ];
    for (const [address, what] of ports) {
      const { host, port } = splitAddress(address);
      // A non-loopback ingress is where other gateways reach this one from outside: not bound here.
      if (isLoopbackHost(host))
        await probeBind(host, port, `the ${what} of gateway ${g.environment}/${g.name}`);
    }
  }
  const seen = new Set<string>();
  for (const s of mesh.services) {
    if (seen.has(`${s.host}:${s.port}`)) continue;
    seen.add(`${s.host}:${s.port}`);
    await probeBind(s.host, s.port, `the demo service ${s.service} in ${s.environment}`);
  }
}

/** What applying the mesh file did. */
export interface MeshApplied {
  readonly results: readonly ActionResult[];
  /** `Applied FILE (22 unchanged).`, then one line per document that changed. */
  readonly lines: readonly string[];
}

/** Applies the documents in one request and says what changed. */
export async function applyMeshFile(
  client: ApiClient,
  manifests: readonly Manifest[],
  file: string,
): Promise<MeshApplied> {
  const { results } = await applyManifests(client, manifests, false);
  // Unchanged documents are only counted: a restart prints one line, not the whole mesh again.
  const changed = results.filter((r) => r.action !== 'unchanged');
  return {
    results,
    lines: [
      `Applied ${file} (${countActions(results)})${changed.length > 0 ? ':' : '.'}`,
      ...changed.map((r) => `  ${formatAction(r)}`),
    ],
  };
}
