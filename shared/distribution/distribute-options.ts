/**
 * What the `compile` use case (`distribute.ts`) is wired with.
 *
 * @module
 */

import type { BlobStore } from '../storage/blob-store.js';
import type { StateStore } from '../storage/state-store.js';
import type { MeshAuthority } from './mesh-authority.js';
import type { Notifier } from './notifier.js';

/** JSON-lines logging, as the API's logger does it. */
export interface DistributeLogger {
  info(event: Record<string, unknown>): void;
  error(event: Record<string, unknown>): void;
}

/** What a `Distributor` reads, writes, signs with and notifies through. */
export interface DistributorOptions {
  /** Where the desired state is read from. */
  readonly store: StateStore;
  /** Where signed snapshots and the compile watermark are kept. */
  readonly blobs: BlobStore;
  /** The trust bundle snapshots carry, and the key that signs them. */
  readonly authority: MeshAuthority;
  /** Tells gateways with a `spec.webhook` of their new snapshot. @default none: agents poll */
  readonly notifier?: Notifier;
  readonly logger?: DistributeLogger;
  /** For the notifications' `iat`. @default Date.now */
  readonly now?: () => number;
}
