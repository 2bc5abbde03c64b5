/**
 * The in-memory {@link KeyRing}: P-256 keys that live as long as the process.
 * For tests and benchmarks only; a CA whose keys vanish at exit issues
 * certificates nobody can renew after a restart.
 *
 * @module
 */
import { generateKeyPairSync } from 'node:crypto';
import { LocalKeySigner } from './local-signer.js';
import type { KeyRing, Signer } from './signer.js';

/** Configuration of {@link MemoryKeyRing}. */
export interface MemoryKeyRingOptions {
  /**
   * Holds every key to a KMS's message limit (`KMS_MAX_MESSAGE_BYTES`), so a
   * test proves nothing weft signs would be refused by AWS KMS.
   * @default no limit
   */
  readonly maxMessageBytes?: number;
}

/** Keys by id, generated on first use, gone at exit. */
export class MemoryKeyRing implements KeyRing {
  readonly #keys = new Map<string, Signer>();

  constructor(readonly options: MemoryKeyRingOptions = {}) {}

  async open(keyId: string): Promise<Signer> {
    let signer = this.#keys.get(keyId);
    if (!signer) {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      signer = new LocalKeySigner(keyId, privateKey, `memory key ${keyId}`, this.options.maxMessageBytes);
      this.#keys.set(keyId, signer);
    }
    return signer;
  }
}
