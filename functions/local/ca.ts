/**
 * The local mesh CA: state in `<dataDir>/ca/state.json`, keys in
 * `<dataDir>/keys/`, issuing as its cloud (`local` by default), opened once
 * per trust domain and host ({@link caOpener}).
 *
 * @module
 */

import type { MeshCa } from '../../shared/identity/ca.js';
import { caOpener } from '../../shared/identity/ca-opener.js';
import { FileCaStore } from '../../shared/identity/file-ca-store.js';
import { FileKeyRing } from '../../shared/identity/file-key-signer.js';
import type { Provider } from '../../shared/model/specs.js';

/** Opens the CA of a trust domain under `dataDir` (creating it on first use), once. */
export function localCaOpener(
  dataDir: string,
  provider: Provider = 'local',
  /** A federated mesh's root certificate (its key kept elsewhere). @default the CA makes its own root */
  root?: { readonly certPem: string },
): (trustDomain: string) => Promise<MeshCa> {
  return caOpener({
    store: new FileCaStore(dataDir),
    keys: new FileKeyRing(dataDir),
    providers: [provider],
    ...(root && { root }),
  });
}
