/**
 * Watermarks: JSON blobs holding the greatest HLC version some process has
 * handled (`outbox/watermark`: published; `compiled/watermark`: compiled).
 * Several instances may move one at once, so it is moved with the blob's
 * compare-and-set and only ever forward.
 *
 * @module
 */
import { ConflictError } from '../model/errors.js';
import type { BlobStore } from './blob-store.js';

/** The blob where the publisher keeps the greatest version it published. */
export const OUTBOX_WATERMARK = 'outbox/watermark';
/** The blob where `compile` keeps the greatest state version it compiled, with its snapshot index. */
export const COMPILED_WATERMARK = 'compiled/watermark';

/** What a watermark blob holds: at least a version. */
export interface Watermark {
  /** An HLC version (`shared/model/hlc.ts`). */
  readonly version: string;
}

/** What `compiled/watermark` holds: the compiled version and every stored snapshot's version and hash. */
export interface CompiledWatermark extends Watermark {
  /** Why nothing compiled at this version (no Mesh, or several); the snapshots stayed as they were. */
  readonly reason?: string;
  /** By gateway key (`<environment>/<name>`). */
  readonly snapshots: Readonly<Record<string, { readonly version: string; readonly hash: string }>>;
}

const MAX_TRIES = 5;

/** The watermark at `key`, or `undefined` when none was written (or it is unreadable). */
export async function readWatermark<T extends Watermark>(
  blobs: BlobStore,
  key: string,
): Promise<T | undefined> {
  return parse<T>((await blobs.get(key))?.body);
}

/** What {@link advanceWatermark} found and did. */
export interface WatermarkMove {
  readonly written: boolean;
  /** The version stored before (the last read), if any: tells a writer whether someone else moved it. */
  readonly previous: string | undefined;
}

/**
 * Writes `next` at `key` unless the stored watermark is ahead of it. At an
 * equal version it writes only when the rest differs, so repeating a move is
 * free and the later of two same-version compiles keeps its index.
 *
 * @throws ConflictError when other writers kept winning for five rounds.
 */
export async function advanceWatermark(
  blobs: BlobStore,
  key: string,
  next: Watermark & Readonly<Record<string, unknown>>,
): Promise<WatermarkMove> {
  const body = `${JSON.stringify(next)}\n`;
  let lost: unknown;
  for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
    const current = await blobs.get(key);
    const previous = parse(current?.body)?.version;
    if (
      previous !== undefined &&
      (previous > next.version || (previous === next.version && current?.body === body))
    )
      return { written: false, previous };
    try {
      await blobs.put(key, body, { ifMatch: current ? current.etag : null });
      return { written: true, previous };
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      lost = error;
    }
  }
  throw new ConflictError(`watermark ${key}: gave up after ${MAX_TRIES} lost writes`, undefined, {
    cause: lost,
  });
}

function parse<T extends Watermark>(body: string | undefined): T | undefined {
  if (body === undefined) return undefined;
  try {
    const value = JSON.parse(body) as T;
    // A damaged watermark reads as none: the sweep republishes everything, which is safe.
    return typeof value?.version === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
