/**
 * The embedded `BlobStore`: one file per blob under a directory
 * (`<dataDir>/blobs/snapshots/aws/gw-1.jws`), files 0600 in 0700
 * directories. A write goes to a temp file that is renamed over the blob,
 * so a reader or a crash never sees half a snapshot.
 *
 * Conditional writes are checked and done one at a time per key within the
 * process; across processes nothing is, and nothing needs to be: one
 * control plane owns a data directory (the embedded store locks it).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import {
  type BlobPutOptions,
  type BlobStore,
  checkBlobKey,
  checkBlobPrefix,
  type StoredBlob,
} from '../../shared/storage/blob-store.js';
import { byCodeUnit, checkIfMatch } from '../../shared/storage/memory-blob-store.js';

/** Temp files live here, beside the blobs (a rename stays on one filesystem); no key starts with `.`. */
const TEMP_DIR = '.tmp';

/** Blobs as files under `root`. */
export class FsBlobStore implements BlobStore {
  readonly #root: string;
  readonly #queues = new Map<string, Promise<unknown>>();

  /** @param root the directory blobs live in, created on first write (`<dataDir>/blobs`). */
  constructor(root: string) {
    this.#root = root;
  }

  async get(key: string): Promise<StoredBlob | undefined> {
    const handle = await open(this.#path(key), 'r').catch(absentAs(undefined));
    if (!handle) return undefined;
    try {
      // ETag and text from one open file: a rename between them cannot mix two writes.
      const stats = await handle.stat({ bigint: true });
      return { body: await handle.readFile('utf8'), etag: etagOf(stats) };
    } finally {
      await handle.close();
    }
  }

  async put(key: string, body: string, options: BlobPutOptions = {}): Promise<{ etag: string }> {
    const path = this.#path(key);
    return this.#serialize(key, async () => {
      const current = await stat(path, { bigint: true }).catch(absentAs(undefined));
      checkIfMatch(key, current && etagOf(current), options.ifMatch);
      const tmpDir = join(this.#root, TEMP_DIR);
      await mkdir(tmpDir, { recursive: true, mode: 0o700 });
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const tmp = join(tmpDir, randomBytes(8).toString('hex'));
      await writeFile(tmp, body, { mode: 0o600, flag: 'wx' });
      // A rename keeps the inode and mtime the ETag is made of.
      const written = await stat(tmp, { bigint: true });
      await rename(tmp, path);
      return { etag: etagOf(written) };
    });
  }

  async list(prefix: string): Promise<string[]> {
    checkBlobPrefix(prefix);
    const entries = await readdir(this.#root, { recursive: true, withFileTypes: true }).catch(absentAs([]));
    return entries
      .filter((e) => e.isFile())
      .map((e) =>
        join(e.parentPath, e.name)
          .slice(this.#root.length + 1)
          .split(sep)
          .join('/'),
      )
      .filter((key) => !key.startsWith(`${TEMP_DIR}/`) && key.startsWith(prefix))
      .sort(byCodeUnit);
  }

  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    return this.#serialize(key, () => rm(path, { force: true }));
  }

  #path(key: string): string {
    return join(this.#root, ...checkBlobKey(key).split('/'));
  }

  /** Runs `task` after every earlier write of `key` in this process. */
  #serialize<T>(key: string, task: () => Promise<T>): Promise<T> {
    const run = (this.#queues.get(key) ?? Promise.resolve()).then(task);
    const settled = run.catch(() => undefined);
    this.#queues.set(key, settled);
    void settled.then(() => {
      if (this.#queues.get(key) === settled) this.#queues.delete(key);
    });
    return run;
  }
}

/** Every write is a new inode (temp file, then rename); with its mtime it names one write. */
function etagOf({ ino, mtimeNs, size }: BigIntStats): string {
  return `"${ino.toString(36)}-${mtimeNs.toString(36)}-${size.toString(36)}"`;
}

function absentAs<T>(value: T) {
  return (error: unknown): T => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return value;
    throw error;
  };
}
