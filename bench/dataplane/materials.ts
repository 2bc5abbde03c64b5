/**
 * The data plane benchmark's identities, on disk in a temp dir (keys 0600):
 * a mesh CA for `bench.test`, X.509-SVIDs for gateways `a/gw-a` and
 * `b/gw-b`, a workload JWT-SVID made out to the mesh's gateways, and the
 * trust bundle both as SPIFFE JSON (for weft) and as PEM (for nginx).
 *
 * nginx cannot verify a server by URI SAN (`proxy_ssl_verify on` always runs
 * OpenSSL's host-name check, which looks at DNS SANs and then the subject
 * CN; an SVID has neither). So nginx's gateway B also gets a second
 * certificate for the same key from the same intermediate, carrying the
 * same URI SAN plus one DNS SAN ({@link NGINX_B_NAME}) for that check.
 *
 * @module
 */
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gatewaysAudience } from '../../shared/identity/audiences.js';
import { buildBundle, parseBundle } from '../../shared/identity/bundle.js';
import { MeshCa } from '../../shared/identity/ca.js';
import { FileCaStore } from '../../shared/identity/file-ca-store.js';
import { FileKeyRing } from '../../shared/identity/file-key-signer.js';
import { issueJwtSvid } from '../../shared/identity/jwt-svid.js';
import { issueX509Svid } from '../../shared/identity/x509-svid.js';
import { gatewaySpiffeId } from '../../shared/model/names.js';
import { makeCsr } from '../../test/support/csr.js';
import { TRUST_DOMAIN, WORKLOAD_ID } from './snapshots.js';

/** The DNS SAN nginx's gateway B certificate adds, and what nginx A checks it against. */
export const NGINX_B_NAME = 'gw-b.b.gw.bench.test';
const TTL_MS = 2 * 3_600_000;

/** Paths of one gateway's key and chain (leaf, then intermediate). */
export interface GatewayFiles {
  readonly spiffeId: string;
  readonly keyPath: string;
  readonly chainPath: string;
}

/** Everything the benchmark's gateways and clients need. */
export interface Materials {
  readonly a: GatewayFiles;
  readonly b: GatewayFiles;
  /** gw-b's key with a chain whose leaf adds {@link NGINX_B_NAME} as a DNS SAN (nginx only). */
  readonly bNginx: GatewayFiles;
  /** SPIFFE bundle JSON. */
  readonly bundleJsonPath: string;
  /** The bundle's X.509 authorities (root and intermediate), PEM. */
  readonly bundlePemPath: string;
  /** A JWT-SVID for {@link WORKLOAD_ID}, audience `spiffe://bench.test/gateways`. */
  readonly jwt: string;
}

async function put(path: string, text: string, mode: number): Promise<string> {
  await writeFile(path, text, { mode });
  await chmod(path, mode);
  return path;
}

const pem = (chain: readonly string[]) => chain.map((c) => (c.endsWith('\n') ? c : `${c}\n`)).join('');

/** Opens a CA under `dir/ca` and writes every credential under `dir`. */
export async function makeMaterials(dir: string): Promise<Materials> {
  const caDir = join(dir, 'ca');
  const ca = await MeshCa.open({
    trustDomain: TRUST_DOMAIN,
    store: new FileCaStore(caDir),
    keys: new FileKeyRing(caDir),
    providers: ['aws'],
  });
  const bundle = await buildBundle(ca);
  const gateway = async (env: string, name: string, file: string, dns?: string) => {
    const spiffeId = gatewaySpiffeId(TRUST_DOMAIN, env, name);
    const { csrPem, keyPem } = await makeCsr();
    const { certChain } = await issueX509Svid(ca, { csrPem, spiffeId, provider: 'aws', ttlMs: TTL_MS });
    const keyPath = await put(join(dir, `${file}.key`), keyPem, 0o600);
    const files = {
      spiffeId,
      keyPath,
      chainPath: await put(join(dir, `${file}.crt`), pem(certChain), 0o644),
    };
    if (!dns) return { files };
    const { certChain: nginxChain } = await issueX509Svid(ca, {
      csrPem,
      spiffeId,
      provider: 'aws',
      ttlMs: TTL_MS,
      dnsNames: [dns],
    });
    const chainPath = await put(join(dir, `${file}-nginx.crt`), pem(nginxChain), 0o644);
    return { files, nginx: { spiffeId, keyPath, chainPath } };
  };
  const a = await gateway('a', 'gw-a', 'gw-a');
  const b = await gateway('b', 'gw-b', 'gw-b', NGINX_B_NAME);
  const audience = gatewaysAudience(TRUST_DOMAIN);
  const { token } = await issueJwtSvid(ca, {
    spiffeId: WORKLOAD_ID,
    audience,
    provider: 'aws',
    ttlMs: 3_600_000,
  });
  const authorities = parseBundle(bundle).x509Authorities.map((x) => x.pem);
  return {
    a: a.files,
    b: b.files,
    bNginx: b.nginx!,
    bundleJsonPath: await put(join(dir, 'bundle.json'), JSON.stringify(bundle), 0o644),
    bundlePemPath: await put(join(dir, 'bundle.pem'), pem(authorities), 0o644),
    jwt: token,
  };
}
