/**
 * Firestore failures as core errors, each saying what to do about it. The
 * SDK throws errors carrying the gRPC status `code` (a number), over gRPC and
 * REST alike. A lost compare-and-set is not here: it needs the key and the
 * current version, so the store maps it where it writes (see {@link isLostRace}).
 *
 * @module
 */
import { PayloadTooLargeError, UnavailableError } from '../../shared/model/errors.js';

/** The gRPC status codes Firestore answers with (`google.rpc.Code`). */
export const GRPC = {
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

const RETRY_LATER = new Set<number>([
  GRPC.CANCELLED,
  GRPC.DEADLINE_EXCEEDED,
  GRPC.RESOURCE_EXHAUSTED,
  GRPC.ABORTED,
  GRPC.INTERNAL,
  GRPC.UNAVAILABLE,
]);

/** The gRPC status code of what the SDK threw, if it carries one. */
export function grpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Whether a conditional write lost to another writer: `create()` found a
 * document (6), or `update()` found it written since it was read (9) or gone
 * (5). Only meaningful for writes: a query answers 9 for a missing index.
 */
export function isLostRace(error: unknown): boolean {
  const code = grpcCode(error);
  return code === GRPC.ALREADY_EXISTS || code === GRPC.FAILED_PRECONDITION || code === GRPC.NOT_FOUND;
}

/**
 * Runs one conditional write (a `create()`, or a write with a `lastUpdateTime`
 * precondition): `true` if it took effect, `false` if it lost to another
 * writer ({@link isLostRace}). Anything else it throws is thrown on.
 */
export async function wonRace(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (isLostRace(error)) return false;
    throw error;
  }
}

/**
 * Turns what the SDK threw into an `UnavailableError` (the store cannot serve
 * now: no database, missing index, quota, credentials, network) or a
 * `PayloadTooLargeError`; anything else (a malformed request: a bug) is
 * returned unchanged.
 */
export function toStoreError(error: unknown, collection: string): unknown {
  const code = grpcCode(error);
  if (code === undefined) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (code === GRPC.UNAVAILABLE) {
    return new UnavailableError(
      `cannot reach Firestore (${message}): check the network, or FIRESTORE_EMULATOR_HOST when using an emulator`,
      { cause: error },
    );
  }
  if (RETRY_LATER.has(code)) {
    return new UnavailableError(`Firestore is throttling or failing (${message}): retry later`, {
      cause: error,
    });
  }
  if (code === GRPC.PERMISSION_DENIED || code === GRPC.UNAUTHENTICATED) {
    return new UnavailableError(
      `Firestore refused the credentials (${message}): grant the function's service account roles/datastore.user`,
      { cause: error },
    );
  }
  if (code === GRPC.NOT_FOUND) {
    return new UnavailableError(
      `Firestore has no database here (${message}): create the (default) database in Native mode or deploy the GCP resources`,
      { cause: error },
    );
  }
  if (code === GRPC.FAILED_PRECONDITION) {
    return new UnavailableError(
      `Firestore cannot run a query on collection ${collection} (${message}): create the index it names`,
      { cause: error },
    );
  }
  // A document over 1 MiB, or (what the resource's `doc` field meets first) one field over 1,048,487 bytes.
  if (
    code === GRPC.INVALID_ARGUMENT &&
    /exceeds the maximum allowed size|is longer than \d+ bytes|too large|too big/i.test(message)
  ) {
    return new PayloadTooLargeError(
      'the resource is too large to store: Firestore documents hold at most 1 MiB',
      {
        cause: error,
      },
    );
  }
  return error;
}
