/**
 * The X.509-SVID key pair and the trust bundle on disk, so a restart needs
 * no join token (those are one-time). Key and chain are two files that must
 * match, and no rename covers two files, so a rotation stages both as
 * `.next` first and renames key then chain: {@link loadSvid} rolls an
 * interrupted rotation back (both staged) or forward (only the chain left),
 * and never sees a key that is not its chain's.
 *
 * @module
 */
import { rename, stat } from 'node:fs/promises';
import type { DataFiles } from './data-files.js';
import { readOptional, removeFile, writeAtomic } from './data-files.js';
import { JoinTokenNeededError } from './errors.js';

/** What the data directory holds about the agent's identity. */
export interface StoredSvid {
  readonly keyPem: string;
  /** PEM certificates, leaf first. */
  readonly certChain: readonly string[];
  /** The bundle JSON text, as served. */
  readonly bundleJson: string;
}

const next = (path: string) => `${path}.next`;

/** Saves a new key and its chain (see the module comment for the order). */
export async function saveSvid(
  files: DataFiles,
  keyPem: string,
  certChain: readonly string[],
): Promise<void> {
  await writeAtomic(next(files.svidKey), keyPem);
  await writeAtomic(next(files.svidChain), joinPem(certChain));
  await rename(next(files.svidKey), files.svidKey);
  await rename(next(files.svidChain), files.svidChain);
}

/** Saves the trust bundle. */
export async function saveBundle(files: DataFiles, bundleJson: string): Promise<void> {
  await writeAtomic(files.bundle, bundleJson);
}

/**
 * Loads what a previous run saved, finishing or undoing an interrupted
 * rotation first. `undefined` when there is nothing (a first start).
 *
 * @throws JoinTokenNeededError when the key file is readable by others
 *   (it may have leaked: the SVID should be replaced, as ssh refuses such keys).
 */
export async function loadSvid(files: DataFiles): Promise<StoredSvid | undefined> {
  if ((await readOptional(next(files.svidKey))) !== undefined) {
    await removeFile(next(files.svidKey));
    await removeFile(next(files.svidChain));
  } else if ((await readOptional(next(files.svidChain))) !== undefined) {
    await rename(next(files.svidChain), files.svidChain);
  }
  const [keyPem, chainPem, bundleJson] = await Promise.all([
    readOptional(files.svidKey),
    readOptional(files.svidChain),
    readOptional(files.bundle),
  ]);
  if (keyPem === undefined || chainPem === undefined || bundleJson === undefined) return undefined;
  if (((await stat(files.svidKey)).mode & 0o077) !== 0) {
    throw new JoinTokenNeededError(
      `${files.svidKey} is readable by other users; treat the key as leaked: delete it and attest with a new join token`,
    );
  }
  return { keyPem, certChain: splitPem(chainPem), bundleJson };
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;

/** The certificates of a PEM text, each with a trailing newline. */
export function splitPem(text: string): string[] {
  return [...text.matchAll(PEM_CERT)].map((m) => `${m[0]}\n`);
}

function joinPem(chain: readonly string[]): string {
  return chain.map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`)).join('');
}
