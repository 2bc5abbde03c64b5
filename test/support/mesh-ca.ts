/**
 * A mesh CA on disk in a temp dir, as the embedded default runs it.
 *
 * @module
 */
import { MeshCa, type MeshCaOptions } from '../../shared/identity/ca.js';
import { FileCaStore } from '../../shared/identity/file-ca-store.js';
import { FileKeyRing } from '../../shared/identity/file-key-signer.js';
import { tempDir } from './temp-dir.js';

export const TRUST_DOMAIN = 'acme.test';

/** Opens a fresh {@link MeshCa} under a new temp dir; returns it with the dir. */
export async function openTestCa(
  options: Partial<Omit<MeshCaOptions, 'store' | 'keys'>> = {},
): Promise<{ ca: MeshCa; dataDir: string }> {
  const dataDir = await tempDir('weft-ca-');
  const ca = await MeshCa.open({
    trustDomain: TRUST_DOMAIN,
    store: new FileCaStore(dataDir),
    keys: new FileKeyRing(dataDir),
    providers: ['aws', 'gcp'],
    ...options,
  });
  return { ca, dataDir };
}
