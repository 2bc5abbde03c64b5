/**
 * The local mesh CA: state in `<dataDir>/ca/state.json`, keys in
 * `<dataDir>/keys/`, issuing as its cloud (`local` by default). One instance per trust
 * domain and host, shared by the identity endpoints and config distribution,
 * so a key one of them rotates in is the key the other signs and publishes.
 *
 * @module
 */
import { MeshCa } from '../../shared/identity/ca.js';
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
  const opened = new Map<string, Promise<MeshCa>>();
  return (trustDomain) => {
    let ca = opened.get(trustDomain);
    if (!ca) {
      const opening = MeshCa.open({
        trustDomain,
        store: new FileCaStore(dataDir),
        keys: new FileKeyRing(dataDir),
        providers: [provider],
        ...(root && { root }),
      });
      // A failed open (a damaged key file, another trust domain's CA) is tried afresh next time.
      opening.catch(() => opened.get(trustDomain) === opening && opened.delete(trustDomain));
      opened.set(trustDomain, opening);
      ca = opening;
    }
    return ca;
  };
}
