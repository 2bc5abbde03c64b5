/**
 * The embedded `Signer`: an ECDSA P-256 key kept as a PKCS#8 PEM file under
 * the data directory (file mode 0600, directory 0700), created on first use.
 * It signs with `node:crypto` ({@link LocalKeySigner}).
 *
 * @module
 */
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WeftError } from '../model/errors.js';
import { LocalKeySigner } from './local-signer.js';
import { KEY_ID, type KeyRing, type Signer } from './signer.js';

/** A P-256 private key on local disk. Open with {@link FileKeySigner.open}. */
export class FileKeySigner extends LocalKeySigner {
  private constructor(
    keyId: string,
    /** Absolute path of the PEM file. */
    readonly path: string,
    pem: string,
  ) {
    super(keyId, createPrivateKey(pem), `key file ${path}`);
  }

  /**
   * Opens `<dir>/<keyId>.pem`, generating it first when absent. Creation is
   * atomic (write a temp file, then `link`), so two processes starting at
   * once end up with the same key.
   *
   * @throws TypeError for a key id outside {@link KEY_ID}.
   * @throws WeftError `ERR_INTERNAL` when the file is readable by group or others.
   */
  static async open(dir: string, keyId: string): Promise<FileKeySigner> {
    if (!KEY_ID.test(keyId)) throw new TypeError(`bad key id ${JSON.stringify(keyId)}`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    const path = join(dir, `${keyId}.pem`);
    let pem = await readIfPresent(path);
    if (pem === undefined) {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const fresh = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
      await writeFile(tmp, fresh, { mode: 0o600, flag: 'wx' });
      try {
        await link(tmp, path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      } finally {
        await unlink(tmp);
      }
      pem = await readFile(path, 'utf8');
    }
    const mode = (await stat(path)).mode & 0o777;
    if (mode & 0o077) {
      throw new WeftError('ERR_INTERNAL', 500, `key file ${path} has mode ${mode.toString(8)}; chmod 600 it`);
    }
    return new FileKeySigner(keyId, path, pem);
  }
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The embedded {@link KeyRing}: one {@link FileKeySigner} per key id under `<dataDir>/keys`. */
export class FileKeyRing implements KeyRing {
  readonly #dir: string;
  readonly #open = new Map<string, Promise<FileKeySigner>>();

  constructor(dataDir: string) {
    this.#dir = join(dataDir, 'keys');
  }

  open(keyId: string): Promise<Signer> {
    let signer = this.#open.get(keyId);
    if (!signer) {
      signer = FileKeySigner.open(this.#dir, keyId);
      signer.catch(() => this.#open.delete(keyId));
      this.#open.set(keyId, signer);
    }
    return signer;
  }
}
