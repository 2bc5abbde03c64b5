/**
 * Convergence of one change (docs/distribution.md §5): has it been
 * compiled, which gateways must apply it (their snapshot is at least that
 * version), and which have said they did.
 *
 * @module
 */
import type { BlobStore } from '../storage/blob-store.js';
import { COMPILED_WATERMARK, type CompiledWatermark, readWatermark } from '../storage/watermark.js';
import { readGatewayStatus } from './gateway-status.js';

/** The answer of `GET /v1/changes/{version}/convergence`. */
export interface Convergence {
  readonly version: string;
  /** The compile watermark has reached `version`. */
  readonly compiled: boolean;
  /** The compile watermark itself, when there is one. */
  readonly compiledVersion?: string;
  /** Gateways whose current snapshot is at `version` or later. */
  readonly targeted: number;
  /** Those among them that reported an applied version at `version` or later. */
  readonly applied: number;
  /** The others, by gateway key, with what they last reported. */
  readonly lagging: readonly { readonly gateway: string; readonly appliedVersion?: string }[];
}

/**
 * @example
 * const { compiled, targeted, applied } = await convergence(blobs, writeVersion);
 * const done = compiled && applied === targeted;
 */
export async function convergence(
  blobs: BlobStore,
  version: string,
  /**
   * What other clouds' control planes hold of the gateways lagging here: a
   * gateway reports to whichever cloud it is talking to (its home, or
   * another while home is down). @default none asked
   */
  elsewhere?: (gateways: readonly string[]) => Promise<ReadonlyMap<string, string>>,
): Promise<Convergence> {
  const mark = await readWatermark<CompiledWatermark>(blobs, COMPILED_WATERMARK);
  const targets = Object.entries(mark?.snapshots ?? {})
    .filter(([, s]) => s.version >= version)
    .map(([gateway]) => gateway);
  const statuses = await Promise.all(targets.map((g) => readGatewayStatus(blobs, g)));
  const lagging: { gateway: string; appliedVersion?: string }[] = [];
  const here = targets.map((g, i) => ({ gateway: g, appliedVersion: statuses[i]?.appliedVersion }));
  const behind = here.filter((s) => s.appliedVersion === undefined || s.appliedVersion < version);
  const there = elsewhere && behind.length > 0 ? await elsewhere(behind.map((s) => s.gateway)) : new Map();
  for (const { gateway, appliedVersion: local } of behind) {
    const remote = there.get(gateway);
    const appliedVersion = remote !== undefined && (local === undefined || remote > local) ? remote : local;
    if (appliedVersion === undefined || appliedVersion < version)
      lagging.push({ gateway, ...(appliedVersion !== undefined && { appliedVersion }) });
  }
  return {
    version,
    compiled: mark !== undefined && mark.version >= version,
    ...(mark && { compiledVersion: mark.version }),
    targeted: targets.length,
    applied: targets.length - lagging.length,
    lagging,
  };
}
