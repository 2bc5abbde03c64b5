/**
 * Opening the mesh CA of a trust domain once per process: the identity
 * endpoints and config distribution share one instance, so a key one of
 * them rotates in is the key the other signs and publishes. Every host
 * uses it, over its own CA store and key ring (files locally, a blob store
 * and KMS in AWS).
 *
 * @module
 */
import { MeshCa, type MeshCaOptions } from './ca.js';

/** Opens the CA of a trust domain (creating it on first use), once; a failed open is tried afresh next time. */
export function caOpener(
  options: Omit<MeshCaOptions, 'trustDomain'>,
): (trustDomain: string) => Promise<MeshCa> {
  const opened = new Map<string, Promise<MeshCa>>();
  return (trustDomain) => {
    let ca = opened.get(trustDomain);
    if (!ca) {
      const opening = MeshCa.open({ ...options, trustDomain });
      // A failed open (a damaged key, another trust domain's CA, a backend down) is not kept.
      opening.catch(() => opened.get(trustDomain) === opening && opened.delete(trustDomain));
      opened.set(trustDomain, opening);
      ca = opening;
    }
    return ca;
  };
}
