/**
 * Azure Key Vault's keys, faked at its REST API over HTTPS: nothing of Key
 * Vault runs outside Azure. A real HTTPS server on loopback with a
 * self-signed certificate, reached by the real `@azure/keyvault-keys`
 * clients, which trust that certificate through their pipeline options
 * alone (`tlsOptions.ca`; never `NODE_TLS_REJECT_UNAUTHORIZED`):
 *
 * ```ts
 * const vault = await startFakeKeyVault();
 * const keys = new KeyClient(vault.vaultUrl, vault.credential, vault.clientOptions);
 * ```
 *
 * What it keeps of the service:
 *
 * - the challenge dance: a request without `Authorization` (the SDK's first
 *   one, sent without its body) or with a token other than the credential's
 *   is 401 with `WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>",
 *   resource="https://vault.azure.net"`; every request needs `api-version`;
 * - `POST /keys/{name}/create` (EC and EC-HSM on P-256 and P-384; a name
 *   that exists gets a new version, as in Key Vault), `GET /keys/{name}` (the
 *   latest version), `GET /keys/{name}/{version}`, `GET /keys/{name}/versions`
 *   (paged with `nextLink`, newest first: the order is not one to rely on),
 *   `POST /keys/{name}/{version}/sign` (`ES256` over a 32-byte digest,
 *   `ES384` over 48, with real keys; the answer is `r || s`, as Key Vault's;
 *   an empty version is the latest);
 * - `created` and `updated` in whole seconds, as Key Vault stamps them;
 * - errors as `{ error: { code, message } }`: 404 `KeyNotFound`, 400
 *   `BadParameter`, 403 `Forbidden` for an operation the key's `key_ops` or
 *   `enabled` forbid; and failures it is told to inject (429 with
 *   `Retry-After`, 5xx).
 *
 * @module
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject, randomBytes, webcrypto } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { KeyClient, type KeyClientOptions } from '@azure/keyvault-keys';
import { randomSerial, x509 } from '../../shared/identity/x509.js';

/** The resource Key Vault's challenge names; the SDK asks for `<resource>/.default`. */
export const KEY_VAULT_RESOURCE = 'https://vault.azure.net';

type Curve = 'P-256' | 'P-384';
const CURVES: Record<Curve, { readonly alg: string; readonly bytes: number; readonly order: bigint }> = {
  'P-256': {
    alg: 'ES256',
    bytes: 32,
    order: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  },
  'P-384': {
    alg: 'ES384',
    bytes: 48,
    order:
      0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  },
};

/** One version of a key, as the fake holds it. */
export interface FakeKeyVersion {
  readonly name: string;
  readonly version: string;
  readonly kty: 'EC' | 'EC-HSM';
  readonly crv: Curve;
  readonly keyOps: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
  readonly enabled: boolean;
  /** Unix seconds. */
  readonly created: number;
  readonly privateKey: KeyObject;
  readonly x: string;
  readonly y: string;
}

/** A request that reached the vault with the right token. */
export interface FakeKeyVaultRequest {
  readonly method: string;
  /** Without the query. */
  readonly path: string;
  /** The parsed JSON body, if any. */
  readonly body?: Record<string, unknown>;
}

export interface FakeKeyVaultOptions {
  /** Tenant named in the challenge. @default 'weft-test-tenant' */
  readonly tenantId?: string;
  /** Versions per page of `GET /keys/{name}/versions`. @default 25 (Key Vault's largest) */
  readonly pageSize?: number;
  /** Makes the id of each new version. @default 32 random hex digits, as Key Vault's */
  readonly versionId?: () => string;
  /** The clock new versions are stamped by (milliseconds; stored in whole seconds). @default Date.now */
  readonly clock?: () => number;
}

export interface FakeKeyVault {
  /** `https://127.0.0.1:<port>`. */
  readonly vaultUrl: string;
  /** The server's self-signed certificate (PEM): the one thing a client must trust. */
  readonly certPem: string;
  /** The only token it takes. */
  readonly token: string;
  readonly tenantId: string;
  /** Answers {@link token}, and records what it was asked for. */
  readonly credential: TokenCredential;
  /** What the credential was asked for: scopes and tenant of each `getToken`. */
  readonly tokenRequests: { scopes: string[]; tenantId?: string }[];
  /** Pipeline options for `KeyClient` and `CryptographyClient`: trust the certificate, skip the vault-domain check, retry briefly. */
  readonly clientOptions: KeyClientOptions;
  /** Requests answered 401 for a missing or wrong token. */
  readonly challenges: FakeKeyVaultRequest[];
  /** Authorized requests, in order. */
  readonly requests: FakeKeyVaultRequest[];
  /** Every version of every key. */
  readonly keys: Map<string, FakeKeyVersion[]>;
  /** Answer signatures as DER instead of `r || s`, as something other than Key Vault might. @default 'raw' */
  signatureFormat: 'raw' | 'der';
  /** Awaited before each authorized request is handled: to hold one back. */
  before: ((request: FakeKeyVaultRequest) => void | Promise<void>) | undefined;
  /** Fails the next `times` authorized requests matching `match` (`METHOD /path`) with `status`. */
  fail(failure: { status: number; code?: string; times?: number; match?: RegExp }): void;
  /** A new `KeyClient` on the vault. */
  keyClient(): KeyClient;
  close(): Promise<void>;
}

let certificate: Promise<{ certPem: string; keyPem: string }> | undefined;

/** One self-signed P-256 certificate for 127.0.0.1 and localhost, made once per test process. */
function selfSignedCertificate(): Promise<{ certPem: string; keyPem: string }> {
  certificate ??= (async () => {
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial(),
      name: 'CN=fake Key Vault',
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 86_400_000),
      keys,
      signingAlgorithm: alg,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([
          { type: 'ip', value: '127.0.0.1' },
          { type: 'dns', value: 'localhost' },
        ]),
      ],
    });
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    const keyPem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({
      format: 'pem',
      type: 'pkcs8',
    });
    return { certPem: cert.toString('pem'), keyPem: String(keyPem) };
  })();
  return certificate;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Starts a fake vault on a free loopback port. */
export async function startFakeKeyVault(options: FakeKeyVaultOptions = {}): Promise<FakeKeyVault> {
  const { certPem, keyPem } = await selfSignedCertificate();
  const tenantId = options.tenantId ?? 'weft-test-tenant';
  const pageSize = options.pageSize ?? 25;
  const versionId = options.versionId ?? (() => randomBytes(16).toString('hex'));
  const clock = options.clock ?? Date.now;
  const token = `fake-kv-${randomBytes(12).toString('hex')}`;
  const keys = new Map<string, FakeKeyVersion[]>();
  const requests: FakeKeyVaultRequest[] = [];
  const challenges: FakeKeyVaultRequest[] = [];
  const tokenRequests: { scopes: string[]; tenantId?: string }[] = [];
  const failures: { status: number; code: string; times: number; match: RegExp }[] = [];
  let vaultUrl = '';

  const bundle = (v: FakeKeyVersion) => ({
    key: { kid: kid(v), kty: v.kty, key_ops: v.keyOps, crv: v.crv, x: v.x, y: v.y },
    attributes: attributes(v),
    tags: v.tags,
  });
  const kid = (v: FakeKeyVersion) => `${vaultUrl}/keys/${v.name}/${v.version}`;
  const attributes = (v: FakeKeyVersion) => ({
    enabled: v.enabled,
    created: v.created,
    updated: v.created,
    recoveryLevel: 'Recoverable+Purgeable',
    recoverableDays: 90,
  });
  const versionsOf = (name: string) => {
    const found = keys.get(name);
    if (!found?.length)
      throw new HttpError(
        404,
        'KeyNotFound',
        `A key with (name/id) ${name} was not found in this key vault.`,
      );
    return found;
  };
  const versionOf = (name: string, version: string) => {
    const found = versionsOf(name).find((v) => v.version === version);
    if (!found)
      throw new HttpError(
        404,
        'KeyNotFound',
        `A key with (name/id) ${name}/${version} was not found in this key vault.`,
      );
    return found;
  };

  const create = (name: string, body: Record<string, unknown>) => {
    if (!/^[0-9A-Za-z-]{1,127}$/.test(name)) throw new HttpError(400, 'BadParameter', `bad key name ${name}`);
    const kty = body.kty;
    const crv = (body.crv ?? 'P-256') as Curve;
    if ((kty !== 'EC' && kty !== 'EC-HSM') || !(crv in CURVES))
      throw new HttpError(
        400,
        'BadParameter',
        `this fake makes EC keys on P-256 or P-384, not ${String(kty)} ${crv}`,
      );
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: crv });
    const jwk = publicKey.export({ format: 'jwk' });
    const version: FakeKeyVersion = {
      name,
      version: versionId(),
      kty,
      crv,
      keyOps: (body.key_ops as string[] | undefined) ?? ['sign', 'verify'],
      tags: (body.tags as Record<string, string> | undefined) ?? {},
      enabled: (body.attributes as { enabled?: boolean } | undefined)?.enabled ?? true,
      created: Math.floor(clock() / 1000),
      privateKey,
      x: jwk.x!,
      y: jwk.y!,
    };
    keys.set(name, [...(keys.get(name) ?? []), version]);
    return bundle(version);
  };

  const sign = (v: FakeKeyVersion, body: Record<string, unknown>) => {
    if (!v.enabled) throw new HttpError(403, 'Forbidden', 'Operation sign is not allowed on a disabled key.');
    if (!v.keyOps.includes('sign'))
      throw new HttpError(403, 'Forbidden', 'Operation sign is not permitted on this key.');
    const curve = CURVES[v.crv];
    const digest = Buffer.from(String(body.value ?? ''), 'base64url');
    if (body.alg !== curve.alg)
      throw new HttpError(400, 'BadParameter', 'Key and signing algorithm are incompatible.');
    if (digest.length !== curve.bytes)
      throw new HttpError(400, 'BadParameter', `Invalid length of 'value': ${digest.length} bytes.`);
    const raw = signDigest(v.privateKey, v.crv, digest);
    const value = fake.signatureFormat === 'der' ? toDer(raw) : raw;
    return { kid: kid(v), value: Buffer.from(value).toString('base64url') };
  };

  const route = (method: string, path: string, url: URL, body: Record<string, unknown>): unknown => {
    const parts = path.split('/').slice(1); // ['keys', name, ...]
    if (parts[0] !== 'keys' || !parts[1]) throw new HttpError(404, 'NotFound', `no route ${method} ${path}`);
    const name = decodeURIComponent(parts[1]);
    const rest = parts.slice(2);
    if (method === 'POST' && rest.length === 1 && rest[0] === 'create') return create(name, body);
    if (method === 'GET' && rest.length === 1 && rest[0] === 'versions') {
      const all = [...versionsOf(name)].reverse();
      const skip = Number(url.searchParams.get('$skiptoken') ?? 0);
      const page = all.slice(skip, skip + pageSize);
      const next = skip + pageSize < all.length;
      return {
        value: page.map((v) => ({ kid: kid(v), attributes: attributes(v), tags: v.tags })),
        nextLink: next
          ? `${vaultUrl}/keys/${name}/versions?api-version=${url.searchParams.get('api-version')}&$skiptoken=${skip + pageSize}`
          : null,
      };
    }
    if (method === 'GET' && (rest.length === 0 || (rest.length === 1 && rest[0] === ''))) {
      return bundle(versionsOf(name).at(-1)!);
    }
    if (method === 'GET' && rest.length === 1) return bundle(versionOf(name, rest[0]!));
    if (method === 'POST' && rest.length === 2 && rest[1] === 'sign') {
      // An empty version (`/keys/<name>//sign`, what a client made from a versionless URL sends) is the latest.
      return sign(rest[0] ? versionOf(name, rest[0]) : versionsOf(name).at(-1)!, body);
    }
    throw new HttpError(400, 'BadParameter', `this fake does not do ${method} ${path}`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://vault');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const method = req.method ?? 'GET';
    const send = (status: number, json: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(json));
    };
    try {
      const body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
      const request: FakeKeyVaultRequest = { method, path: url.pathname, ...(body && { body }) };
      if (req.headers.authorization !== `Bearer ${token}`) {
        challenges.push(request);
        throw new HttpError(401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.', {
          'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="${KEY_VAULT_RESOURCE}"`,
        });
      }
      if (!url.searchParams.get('api-version'))
        throw new HttpError(
          400,
          'BadParameter',
          'The request URI contains an invalid or missing api-version.',
        );
      requests.push(request);
      await fake.before?.(request);
      const failure = failures.find((f) => f.times > 0 && f.match.test(`${method} ${url.pathname}`));
      if (failure) {
        failure.times -= 1;
        throw new HttpError(failure.status, failure.code, 'injected failure', { 'retry-after': '0' });
      }
      send(200, route(method, url.pathname, url, body ?? {}));
    } catch (error) {
      if (error instanceof HttpError) {
        send(error.status, { error: { code: error.code, message: error.message } }, error.headers);
      } else {
        send(400, { error: { code: 'BadParameter', message: String(error) } });
      }
    }
  };

  const server: Server = createServer({ key: keyPem, cert: certPem }, (req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  vaultUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const credential: TokenCredential = {
    async getToken(scopes: string | string[], opts?: GetTokenOptions): Promise<AccessToken> {
      tokenRequests.push({
        scopes: [scopes].flat(),
        ...(opts?.tenantId !== undefined && { tenantId: opts.tenantId }),
      });
      return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
  const clientOptions: KeyClientOptions = {
    tlsOptions: { ca: certPem },
    // The challenge names vault.azure.net; the fake is not under it.
    disableChallengeResourceVerification: true,
    retryOptions: { maxRetries: 2, retryDelayInMs: 5, maxRetryDelayInMs: 20 },
  };

  const fake: FakeKeyVault = {
    vaultUrl,
    certPem,
    token,
    tenantId,
    credential,
    tokenRequests,
    clientOptions,
    challenges,
    requests,
    keys,
    signatureFormat: 'raw',
    before: undefined,
    fail({ status, code, times = 1, match = /./ }) {
      failures.push({
        status,
        code: code ?? (status === 429 ? 'Throttled' : 'ServiceUnavailable'),
        times,
        match,
      });
    },
    keyClient: () => new KeyClient(vaultUrl, credential, { ...clientOptions }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}

const toBigInt = (bytes: Uint8Array) => BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;

function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

const toBytes = (n: bigint, size: number) => Buffer.from(n.toString(16).padStart(size * 2, '0'), 'hex');

/**
 * ECDSA over a digest, as Key Vault signs (node:crypto only signs messages,
 * hashing them first): a fresh node key pair gives the nonce k and the x of
 * k·G, and s = k⁻¹(e + r·d) mod n. The digest is as long as the curve's
 * order, so e needs no truncation.
 */
function signDigest(privateKey: KeyObject, curve: Curve, digest: Uint8Array): Uint8Array {
  const { order: n, bytes } = CURVES[curve];
  const d = toBigInt(Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url'));
  const e = toBigInt(digest);
  for (;;) {
    const nonce = generateKeyPairSync('ec', { namedCurve: curve }).privateKey.export({ format: 'jwk' });
    const k = toBigInt(Buffer.from(nonce.d!, 'base64url'));
    const r = mod(toBigInt(Buffer.from(nonce.x!, 'base64url')), n);
    const s = mod(inverse(k, n) * (e + r * d), n);
    if (r !== 0n && s !== 0n) return Buffer.concat([toBytes(r, bytes), toBytes(s, bytes)]);
  }
}

/** `r || s` as a DER `ECDSA-Sig-Value`. */
function toDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  const integer = (bytes: Uint8Array) => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    const body = bytes[i]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes.subarray(i)]) : bytes.subarray(i);
    return Buffer.concat([Buffer.from([0x02, body.length]), body]);
  };
  const seq = Buffer.concat([integer(raw.subarray(0, half)), integer(raw.subarray(half))]);
  return Buffer.concat([Buffer.from([0x30, seq.length]), seq]);
}
