/**
 * The agent's data directory: what it keeps across restarts, and how it
 * writes it. Every file is owner-only (0600) in an owner-only directory
 * (0700), and every write is a temp file, fsync, rename: a crash leaves the
 * old file or the new one, never half of either, so the last-known-good
 * config and the credentials survive a power cut.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Where each persisted thing lives under `--data`. */
export interface DataFiles {
  readonly dir: string;
  /** PKCS#8 PEM of the X.509-SVID's private key. Made here; never leaves the agent. */
  readonly svidKey: string;
  /** The X.509-SVID chain, PEM, leaf first (`weft svid inspect DIR/svid.pem`). */
  readonly svidChain: string;
  /** The SPIFFE trust bundle as `GET /v1/bundle` serves it. */
  readonly bundle: string;
  /** The last applied snapshot, as the signed JWS text it arrived in. */
  readonly snapshot: string;
}

/** The file layout of `dir`. */
export function dataFiles(dir: string): DataFiles {
  return {
    dir,
    svidKey: join(dir, 'svid-key.pem'),
    svidChain: join(dir, 'svid.pem'),
    bundle: join(dir, 'bundle.json'),
    snapshot: join(dir, 'snapshot.jws'),
  };
}

/** Creates `dir` if needed and makes it owner-only (it holds a private key). */
export async function ensureDataDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/** The file's text, or `undefined` when it does not exist. */
export async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Writes `text` to `path` atomically, mode 0600: a sibling temp file is
 * written and flushed, then renamed over `path` (atomic within a directory).
 */
export async function writeAtomic(path: string, text: string): Promise<void> {
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Removes `path` if it exists. */
export async function removeFile(path: string): Promise<void> {
  await rm(path, { force: true });
}
