/**
 * What each of weft's functions may touch on AWS: the one table the
 * construct grants from and docs/deploy-aws.md explains.
 *
 * @module
 */
import type { WeftFunction } from './functions.js';

/** The resources one function is granted. */
export interface WeftFunctionAccess {
  /** Read/write items of the state table. */
  readonly table: boolean;
  /**
   * Objects of the state bucket: `all` read/write (snapshots, status, CA state, replication
   * bookkeeping), `registration` get/put of the registrar's status documents only.
   */
  readonly bucket: 'all' | 'registration' | false;
  /** `events:PutEvents` on the weft bus. */
  readonly publish: boolean;
  /** Opens the CA: creates, names, uses and (after a lost race) deletes the CA's tagged KMS keys. */
  readonly ca: boolean;
  /** `kms:Sign` and `kms:GetPublicKey` on the relay key (relay events, peer tokens). */
  readonly relayKey: boolean;
  /** Reads EC2 instances, ECS tasks and the tagging API. */
  readonly platform: boolean;
  /** Invoked asynchronously by an EventBridge rule: a dead-letter queue for what fails. */
  readonly deadLetters: boolean;
}

const none: WeftFunctionAccess = {
  table: false,
  bucket: false,
  publish: false,
  ca: false,
  relayKey: false,
  platform: false,
  deadLetters: false,
};

/** Least privilege per function. */
export const WEFT_FUNCTION_ACCESS: Readonly<Record<WeftFunction['name'], WeftFunctionAccess>> = {
  api: { ...none, table: true, bucket: 'all', publish: true, ca: true },
  ingest: { ...none, table: true, bucket: 'all', publish: true, ca: true, relayKey: true },
  compile: { ...none, table: true, bucket: 'all', ca: true, deadLetters: true },
  sweep: { ...none, table: true, bucket: 'all', publish: true, ca: true, relayKey: true },
  // The relay reads no state: the records come in the event; the bucket holds its retry bookkeeping.
  relay: { ...none, bucket: 'all', relayKey: true, deadLetters: true },
  // The registrar records its status document (registration/<provider>) after each batch.
  registrar: {
    ...none,
    table: true,
    bucket: 'registration',
    publish: true,
    platform: true,
    deadLetters: true,
  },
  reconcile: { ...none, table: true, bucket: 'registration', publish: true, platform: true },
};
