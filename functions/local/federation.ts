/**
 * A federated mesh on one machine, as files (docs/replication.md, "Running
 * several control planes locally"):
 *
 * ```
 * MESH/root/               the mesh root: root.pem, and its key (keys/root.jwk, 0600),
 *                          which no control plane reads (in a real mesh it stays offline)
 * MESH/<cloud>/            one control plane's data: state, blobs, CA, its keys
 *                          (intermediate, JWT, relay), its api.log
 * MESH/federation.json     who the clouds are: trust domain, and per cloud its
 *                          API URL and public relay key
 * MESH/operator-key.jwk    the operator key every cloud trusts (one admin token for all)
 * ```
 *
 * `weft ca init|csr|sign|install` and `weft serve --cloud` use these; so can
 * a test that runs several control planes.
 *
 * @module
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { MeshCa } from '../../shared/identity/ca.js';
import { createRootCertificate } from '../../shared/identity/ca-certificates.js';
import { FileCaStore } from '../../shared/identity/file-ca-store.js';
import { FileKeyRing } from '../../shared/identity/file-key-signer.js';
import { signIntermediateCsr } from '../../shared/identity/intermediate-csr.js';
import { x509 } from '../../shared/identity/x509.js';
import { ValidationError } from '../../shared/model/errors.js';
import { PROVIDERS, type Provider } from '../../shared/model/specs.js';
import {
  type Federation,
  type RelayPublicKey,
  relayPublicKeyOf,
  relayPublicKeySchema,
} from '../../shared/replication/federation.js';

const YEAR_MS = 365 * 86_400_000;
const ROOT_KEY = 'root';
const RELAY_KEY = 'relay';

/** The mesh root's certificate file under `rootDir`. */
export const rootCertFile = (rootDir: string) => join(rootDir, 'root.pem');

/**
 * Creates the mesh root in `rootDir` (key 0600, certificate), or loads the one there.
 *
 * @throws ValidationError when the root there is for another trust domain.
 */
export async function initRoot(
  rootDir: string,
  trustDomain: string,
): Promise<{ certPem: string; created: boolean }> {
  const existing = await readFile(rootCertFile(rootDir), 'utf8').catch(() => undefined);
  if (existing) {
    const domain = rootTrustDomain(existing);
    if (domain !== trustDomain)
      throw new ValidationError(`${rootCertFile(rootDir)} is the root of ${domain}, not ${trustDomain}`);
    return { certPem: existing, created: false };
  }
  const signer = await new FileKeyRing(rootDir).open(ROOT_KEY);
  const cert = await createRootCertificate({ trustDomain, signer, now: new Date(), ttlMs: 10 * YEAR_MS });
  const certPem = `${cert.toString('pem')}\n`;
  await writeFile(rootCertFile(rootDir), certPem, { mode: 0o644 });
  return { certPem, created: true };
}

/** The trust domain a weft root certificate names (its `spiffe://` URI SAN). */
export function rootTrustDomain(certPem: string): string {
  const san = new x509.X509Certificate(certPem).getExtension(x509.SubjectAlternativeNameExtension);
  const uri = san?.names.items.find((n) => n.type === 'url')?.value;
  if (!uri?.startsWith('spiffe://'))
    throw new ValidationError('the root certificate names no SPIFFE trust domain');
  return uri.slice('spiffe://'.length);
}

/** Opens `cloud`'s CA in `cloudDir` on the mesh root (federated: no root key there). */
export function openCloudCa(cloudDir: string, cloud: Provider, rootCertPem: string): Promise<MeshCa> {
  return MeshCa.open({
    trustDomain: rootTrustDomain(rootCertPem),
    store: new FileCaStore(cloudDir),
    keys: new FileKeyRing(cloudDir),
    providers: [cloud],
    root: { certPem: rootCertPem },
  });
}

/** `weft ca sign`: the root in `rootDir` signs `cloud`'s intermediate CSR. */
export async function signWithRoot(rootDir: string, cloud: Provider, csrPem: string): Promise<string> {
  const certPem = await readFile(rootCertFile(rootDir), 'utf8');
  const certificate = new x509.X509Certificate(certPem);
  return signIntermediateCsr({
    csrPem,
    provider: cloud,
    trustDomain: rootTrustDomain(certPem),
    root: { certificate, signer: await new FileKeyRing(rootDir).open(ROOT_KEY) },
    now: new Date(),
    ttlMs: YEAR_MS,
  });
}

/**
 * Everything a cloud needs before its control plane starts: its CA on the
 * mesh root with an installed intermediate (CSR, signed by the root,
 * installed, only when it has none) and its relay key.
 *
 * @returns its public relay key, for the others' federation.
 */
export async function prepareCloud(options: {
  readonly rootDir: string;
  readonly cloudDir: string;
  readonly cloud: Provider;
}): Promise<RelayPublicKey> {
  const rootCertPem = await readFile(rootCertFile(options.rootDir), 'utf8');
  const ca = await openCloudCa(options.cloudDir, options.cloud, rootCertPem);
  const installed = await ca.issuer(options.cloud).then(
    () => true,
    () => false,
  );
  if (!installed) {
    const csr = await ca.intermediateCsr(options.cloud);
    await ca.installIntermediate(options.cloud, await signWithRoot(options.rootDir, options.cloud, csr));
  }
  return relayPublicKey(options.cloudDir, options.cloud);
}

/** `cloud`'s relay key in `cloudDir` (made on first use), public half. */
export async function relayPublicKey(cloudDir: string, cloud: Provider): Promise<RelayPublicKey> {
  return relayPublicKeyOf(await new FileKeyRing(cloudDir).open(RELAY_KEY), cloud);
}

const federationFileSchema = z.object({
  trustDomain: z.string(),
  clouds: z.array(
    z.object({
      cloud: z.enum(PROVIDERS),
      url: z.url(),
      relayKey: relayPublicKeySchema,
    }),
  ),
});
export type FederationFile = z.infer<typeof federationFileSchema>;

/** Writes `MESH/federation.json`. */
export async function writeFederationFile(file: string, federation: FederationFile): Promise<void> {
  await writeFile(file, `${JSON.stringify(federation, null, 2)}\n`, { mode: 0o600 });
}

/**
 * `cloud`'s {@link Federation} from a federation file: its own relay key
 * (from `cloudDir`) and every other cloud as a peer.
 *
 * @throws ValidationError when the file is malformed or does not list `cloud`.
 */
export async function loadFederation(file: string, cloud: Provider, cloudDir: string): Promise<Federation> {
  let parsed: FederationFile;
  try {
    parsed = federationFileSchema.parse(JSON.parse(await readFile(file, 'utf8')));
  } catch (cause) {
    throw new ValidationError(`${file} is not a federation file: ${(cause as Error).message}`, [], { cause });
  }
  const self = parsed.clouds.find((c) => c.cloud === cloud);
  if (!self) throw new ValidationError(`${file} does not list cloud ${cloud}`);
  const signer = await new FileKeyRing(cloudDir).open(RELAY_KEY);
  const own = await relayPublicKey(cloudDir, cloud);
  if (own.kid !== self.relayKey.kid)
    throw new ValidationError(`${file} lists another relay key for ${cloud} than ${cloudDir} holds`);
  return {
    self: cloud,
    signingKey: { kid: own.kid, signer },
    peers: parsed.clouds
      .filter((c) => c.cloud !== cloud)
      .map((c) => ({ cloud: c.cloud, url: c.url, keys: [c.relayKey] })),
  };
}
