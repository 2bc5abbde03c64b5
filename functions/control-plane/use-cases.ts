/**
 * The cloud-agnostic bodies of the functions every cloud deploys besides the
 * API: what a `compile` invocation and a `sweep` invocation do, whichever
 * bus or scheduler triggered them. Each cloud's handler parses its native
 * event into CloudEvents and calls one of these.
 *
 * @module
 */
import type { CloudEvent } from '../../shared/events/cloud-event.js';
import type { SweepReport } from '../../shared/replication/anti-entropy.js';
import type { ControlPlane } from './compose-control-plane.js';

/** What one compile invocation did. */
export interface CompileOutcome {
  /** Gateways whose snapshot was signed and stored. */
  readonly written: readonly string[];
  /** Gateways whose snapshot was deleted. */
  readonly removed: readonly string[];
}

/**
 * Compiles what `events` touch and waits for the webhooks it started: a
 * function's instance may be frozen the moment its handler returns, so
 * nothing may be left in flight.
 */
export async function compileEvents(
  plane: ControlPlane,
  events: readonly CloudEvent[],
): Promise<CompileOutcome> {
  const report = await plane.compile(events);
  await plane.idle();
  return { written: report?.written ?? [], removed: report?.removed ?? [] };
}

/** Republishes what the bus missed; resolves with how many events went out. */
export async function sweepChanges(plane: ControlPlane): Promise<{ published: number }> {
  return { published: await plane.sweep() };
}

/** What one scheduled sweep did: the outbox, then anti-entropy with every peer. */
export interface SweepOutcome {
  readonly published: number;
  readonly peers: readonly SweepReport[];
}

/**
 * The scheduled sweep of a cloud function: republishes what the bus missed,
 * then compares with each peer and pulls what is missing (nothing without
 * peers). A peer that cannot be reached is in the report, not thrown: the
 * next sweep tries again, and a retried invocation would only repeat the
 * outbox.
 */
export async function sweepAll(plane: ControlPlane): Promise<SweepOutcome> {
  const published = await plane.sweep();
  const peers = await plane.antiEntropy();
  await plane.idle();
  return { published, peers };
}
