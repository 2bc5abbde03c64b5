/**
 * A stand-in for Cloud KMS's REST API (`cloudkms.googleapis.com/v1`), as far
 * as `CloudKmsSigner` and `CloudKmsKeyRing` call it: an HTTP server on
 * loopback (nothing of Cloud KMS runs here) that the real
 * `KeyManagementServiceClient` reaches over its REST transport
 * ({@link kmsClientOptions}: `fallback: true`, `protocol: 'http'`).
 *
 * - `GET /v1/{key}`, `POST /v1/{keyRing}/cryptoKeys?cryptoKeyId=`: keys in
 *   the key rings a test added; a new key's version 1 is
 *   `PENDING_GENERATION` for its first `pendingReads` reads, then `ENABLED`;
 *   creating an existing id is 409 `ALREADY_EXISTS`;
 * - `GET /v1/{version}`, `GET /v1/{version}/publicKey` (PEM, `pemCrc32c`);
 * - `POST /v1/{version}:asymmetricSign` with a SHA-256 digest: a real ECDSA
 *   P-256 signature in DER over exactly that digest (Node signs messages,
 *   not digests, so the fake signs with its own arithmetic below, checked by
 *   every verification the tests make), `verifiedDigestCrc32c` and
 *   `signatureCrc32c`; a digest CRC32C that does not match is 400, as KMS does;
 * - every request needs `Authorization: Bearer <token>` (401 otherwise);
 *   `failNext(status)` answers the next request with that error;
 *   `tamperSign` rewrites sign answers (corruption in transit);
 *   `onRequest` runs before each request (to stage a race).
 *
 * Enums are answered as numbers when the client asks for
 * `$alt=json;enum-encoding=int` (google-gax's REST transport does), as names
 * otherwise; errors are Google's `{ error: { code, message, status } }`.
 * CRC32C is the Storage SDK's own, not the adapter's.
 *
 * @module
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { CRC32C } from '@google-cloud/storage';
import { OAuth2Client } from 'google-auth-library';

type ClientOptions = NonNullable<ConstructorParameters<typeof KeyManagementServiceClient>[0]>;

const ENUMS = {
  purpose: { ASYMMETRIC_SIGN: 5, ENCRYPT_DECRYPT: 1 },
  algorithm: { EC_SIGN_P256_SHA256: 12, EC_SIGN_P384_SHA384: 13, GOOGLE_SYMMETRIC_ENCRYPTION: 1 },
  protectionLevel: { SOFTWARE: 1, HSM: 2 },
  state: { ENABLED: 1, DISABLED: 2, DESTROYED: 3, DESTROY_SCHEDULED: 4, PENDING_GENERATION: 5 },
} as const;
type EnumName<K extends keyof typeof ENUMS> = keyof (typeof ENUMS)[K];

interface FakeVersion {
  state: EnumName<'state'>;
  pendingReads: number;
  readonly algorithm: EnumName<'algorithm'>;
  /** The private scalar, for P-256 keys. */
  readonly d?: bigint;
  readonly pem?: string;
}

interface FakeKey {
  readonly name: string;
  readonly purpose: EnumName<'purpose'>;
  readonly algorithm: EnumName<'algorithm'>;
  readonly protectionLevel: EnumName<'protectionLevel'>;
  readonly labels: Record<string, string>;
  readonly createTime: string;
  readonly versions: FakeVersion[];
}

/** A sign answer as JSON, before it is sent. */
export interface SignAnswer {
  name: string;
  signature: string;
  signatureCrc32c: string;
  verifiedDigestCrc32c: boolean;
  verifiedDataCrc32c: boolean;
  protectionLevel: string | number;
}

export interface FakeCloudKms {
  readonly port: number;
  readonly token: string;
  /** Every request's method and path (without the query), in order. */
  readonly requests: string[];
  /** Keys can be created in this key ring (`projects/P/locations/L/keyRings/R`). */
  addKeyRing(name: string): void;
  /** Creates a key as another writer (a console, a racing instance) would, enabled at once. */
  createKey(
    name: string,
    spec?: {
      purpose?: EnumName<'purpose'>;
      algorithm?: EnumName<'algorithm'>;
      labels?: Record<string, string>;
    },
  ): void;
  /** The stored key, for assertions. */
  key(name: string): (Omit<FakeKey, 'versions'> & { readonly states: string[] }) | undefined;
  setVersionState(version: string, state: EnumName<'state'>): void;
  /** Reads of a new key's version 1 that still see `PENDING_GENERATION`. @default 1 */
  pendingReads: number;
  tamperSign: ((answer: SignAnswer) => SignAnswer) | undefined;
  onRequest: ((method: string, path: string) => Promise<void> | void) | undefined;
  failNext(status: number): void;
  /** Options for a `KeyManagementServiceClient` on this fake: REST transport, plain HTTP, a fixed token. */
  clientOptions(): ClientOptions;
  close(): Promise<void>;
}

const STATUS = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
} as const;
const HTTP_STATUS: Record<number, string> = {
  ...STATUS,
  403: 'PERMISSION_DENIED',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

class KmsHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly grpcStatus = HTTP_STATUS[status] ?? 'UNKNOWN',
  ) {
    super(message);
  }
}

const RING = 'projects/[^/]+/locations/[^/]+/keyRings/[^/]+';
const KEY = `${RING}/cryptoKeys/[^/]+`;
const VERSION = `${KEY}/cryptoKeyVersions/[0-9]+`;

export async function startFakeCloudKms(): Promise<FakeCloudKms> {
  const token = `fake-${randomBytes(6).toString('hex')}`;
  const keyRings = new Set<string>();
  const keys = new Map<string, FakeKey>();
  const requests: string[] = [];
  let failures: number[] = [];

  const newKey = (
    name: string,
    purpose: EnumName<'purpose'>,
    algorithm: EnumName<'algorithm'>,
    labels: Record<string, string>,
    pendingReads: number,
  ): FakeKey => {
    const key: FakeKey = {
      name,
      purpose,
      algorithm,
      protectionLevel: 'SOFTWARE',
      labels,
      createTime: new Date().toISOString(),
      versions: [
        { ...generate(algorithm), state: pendingReads > 0 ? 'PENDING_GENERATION' : 'ENABLED', pendingReads },
      ],
    };
    keys.set(name, key);
    return key;
  };
  const keyOf = (name: string) => {
    const key = keys.get(name);
    if (!key) throw new KmsHttpError(404, `CryptoKey ${name} not found.`);
    return key;
  };
  const versionOf = (name: string) => {
    const [, keyName, id] = /^(.*)\/cryptoKeyVersions\/([0-9]+)$/.exec(name)!;
    const version = keys.get(keyName!)?.versions[Number(id) - 1];
    if (!version) throw new KmsHttpError(404, `CryptoKeyVersion ${name} not found.`);
    return version;
  };
  const usable = (name: string, version: FakeVersion) => {
    if (version.state !== 'ENABLED')
      throw new KmsHttpError(
        400,
        `${name} is not enabled, current state is: ${version.state}.`,
        'FAILED_PRECONDITION',
      );
  };

  const handle = async (req: IncomingMessage, body: string, res: ServerResponse, fake: FakeCloudKms) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = decodeURIComponent(url.pathname);
    requests.push(`${req.method} ${path}`);
    await fake.onRequest?.(req.method ?? '', path);
    const failure = failures.shift();
    if (failure !== undefined) throw new KmsHttpError(failure, `fake failure ${failure}`);
    if (req.headers.authorization !== `Bearer ${token}`)
      throw new KmsHttpError(401, 'Request had invalid authentication credentials.');
    const numeric = (url.searchParams.get('$alt') ?? '').includes('enum-encoding=int');
    const e = <K extends keyof typeof ENUMS>(kind: K, name: EnumName<K>) =>
      numeric ? (ENUMS[kind] as Record<string, number>)[name as string]! : (name as string);
    const keyJson = (key: FakeKey) => ({
      name: key.name,
      purpose: e('purpose', key.purpose),
      createTime: key.createTime,
      versionTemplate: {
        protectionLevel: e('protectionLevel', key.protectionLevel),
        algorithm: e('algorithm', key.algorithm),
      },
      labels: key.labels,
      destroyScheduledDuration: '2592000s',
    });
    /** The resource name in `path` when the request is `method` on `pattern`. */
    const on = (method: string, pattern: string) =>
      req.method === method ? new RegExp(`^/v1/${pattern}$`).exec(path)?.[1] : undefined;

    const publicKeyOf = on('GET', `(${VERSION})/publicKey`);
    if (publicKeyOf) {
      const name = publicKeyOf;
      const version = versionOf(name);
      usable(name, version);
      if (!version.pem) throw new KmsHttpError(400, `${name} has no public key.`, 'FAILED_PRECONDITION');
      return json(res, 200, {
        pem: version.pem,
        algorithm: e('algorithm', version.algorithm),
        pemCrc32c: String(crc32c(Buffer.from(version.pem))),
        name,
        protectionLevel: e('protectionLevel', 'SOFTWARE'),
      });
    }
    const signedBy = on('POST', `(${VERSION}):asymmetricSign`);
    if (signedBy) {
      const name = signedBy;
      const version = versionOf(name);
      usable(name, version);
      const request = JSON.parse(body) as { digest?: { sha256?: string }; digestCrc32c?: string };
      const digest = Buffer.from(request.digest?.sha256 ?? '', 'base64');
      if (version.algorithm !== 'EC_SIGN_P256_SHA256' || version.d === undefined)
        throw new KmsHttpError(
          400,
          `fake Cloud KMS signs EC_SIGN_P256_SHA256 only, not ${version.algorithm}.`,
        );
      if (digest.length !== 32)
        throw new KmsHttpError(400, 'The digest must be a SHA-256 digest (32 bytes).');
      if (request.digestCrc32c !== undefined && Number(request.digestCrc32c) !== crc32c(digest))
        throw new KmsHttpError(
          400,
          'The checksum in field digest_crc32c did not match the data in field digest.',
        );
      const signature = signDigest(version.d, digest);
      let answer: SignAnswer = {
        name,
        signature: signature.toString('base64'),
        signatureCrc32c: String(crc32c(signature)),
        verifiedDigestCrc32c: request.digestCrc32c !== undefined,
        verifiedDataCrc32c: false,
        protectionLevel: e('protectionLevel', 'SOFTWARE'),
      };
      if (fake.tamperSign) answer = fake.tamperSign(answer);
      return json(res, 200, answer);
    }
    const versionName = on('GET', `(${VERSION})`);
    if (versionName) {
      const name = versionName;
      const version = versionOf(name);
      if (version.state === 'PENDING_GENERATION' && version.pendingReads-- <= 0) version.state = 'ENABLED';
      return json(res, 200, {
        name,
        state: e('state', version.state),
        protectionLevel: e('protectionLevel', 'SOFTWARE'),
        algorithm: e('algorithm', version.algorithm),
      });
    }
    const key = on('GET', `(${KEY})`);
    if (key) {
      return json(res, 200, keyJson(keyOf(key)));
    }
    const parent = on('POST', `(${RING})/cryptoKeys`);
    if (parent) {
      const id = url.searchParams.get('cryptoKeyId') ?? '';
      if (!keyRings.has(parent)) throw new KmsHttpError(404, `KeyRing ${parent} not found.`);
      if (!/^[a-zA-Z0-9_-]{1,63}$/.test(id)) throw new KmsHttpError(400, `Invalid CryptoKey id: ${id}`);
      const name = `${parent}/cryptoKeys/${id}`;
      if (keys.has(name)) throw new KmsHttpError(409, `CryptoKey ${name} already exists.`);
      const spec = JSON.parse(body) as {
        purpose?: string | number;
        versionTemplate?: { algorithm?: string | number; protectionLevel?: string | number };
        labels?: Record<string, string>;
      };
      const purpose = enumName('purpose', spec.purpose);
      const algorithm = enumName('algorithm', spec.versionTemplate?.algorithm);
      if (!purpose || !algorithm)
        throw new KmsHttpError(400, 'fake Cloud KMS: unknown purpose or algorithm.');
      return json(res, 200, keyJson(newKey(name, purpose, algorithm, spec.labels ?? {}, fake.pendingReads)));
    }
    throw new KmsHttpError(404, `fake Cloud KMS: no route ${req.method} ${path}`);
  };

  const fake: FakeCloudKms = {
    port: 0,
    token,
    requests,
    pendingReads: 1,
    tamperSign: undefined,
    onRequest: undefined,
    addKeyRing: (name) => keyRings.add(name),
    createKey: (name, spec = {}) => {
      newKey(
        name,
        spec.purpose ?? 'ASYMMETRIC_SIGN',
        spec.algorithm ?? 'EC_SIGN_P256_SHA256',
        spec.labels ?? {},
        0,
      );
    },
    key: (name) => {
      const key = keys.get(name);
      if (!key) return undefined;
      const { versions, ...rest } = key;
      return { ...rest, states: versions.map((v) => v.state) };
    },
    setVersionState: (name, state) => {
      versionOf(name).state = state;
    },
    failNext: (status) => {
      failures = [...failures, status];
    },
    clientOptions: () => kmsClientOptions(fake.port, token),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      handle(req, body, res, fake).catch((error: unknown) => {
        if (!(error instanceof KmsHttpError)) {
          res.writeHead(500).end(String(error));
          return;
        }
        json(res, error.status, {
          error: { code: error.status, message: error.message, status: error.grpcStatus },
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (fake as { port: number }).port = (server.address() as AddressInfo).port;
  return fake;
}

/**
 * Options for a `KeyManagementServiceClient` on a fake at `port`: the REST
 * transport over plain HTTP, and an `OAuth2Client` holding a fixed token, so
 * no credentials are looked for and no metadata server is asked.
 */
export function kmsClientOptions(port: number, token = 'fake-token'): ClientOptions {
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: token, expiry_date: Date.now() + 24 * 3600_000 });
  return {
    fallback: true,
    apiEndpoint: '127.0.0.1',
    port,
    protocol: 'http',
    // google-gax types its options with its own copy of google-auth-library (10.5): the same class, another type.
    authClient: authClient as unknown as ClientOptions['authClient'],
    projectId: 'weft-test',
  };
}

function enumName<K extends keyof typeof ENUMS>(kind: K, value: unknown): EnumName<K> | undefined {
  const values = ENUMS[kind] as Record<string, number>;
  const name = Object.keys(values).find((n) => n === value || values[n] === value);
  return name as EnumName<K> | undefined;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(JSON.stringify(body));
}

function crc32c(data: Buffer): number {
  const crc = new CRC32C();
  crc.update(data);
  return crc.valueOf() >>> 0; // the SDK's is a signed int32; KMS's an unsigned int64
}

/** A key version's key pair from node:crypto (the fake signs with P-256 ones only). */
function generate(algorithm: EnumName<'algorithm'>): {
  algorithm: EnumName<'algorithm'>;
  d?: bigint;
  pem?: string;
} {
  const namedCurve = { EC_SIGN_P256_SHA256: 'P-256', EC_SIGN_P384_SHA384: 'P-384' }[algorithm as string];
  if (!namedCurve) return { algorithm };
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
  const jwk = privateKey.export({ format: 'jwk' });
  return {
    algorithm,
    d: BigInt(`0x${Buffer.from(jwk.d!, 'base64url').toString('hex')}`),
    pem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

// ECDSA P-256 over a given digest (FIPS 186-4 6.4), in Jacobian coordinates.
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const G: Point = [
  0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
  1n,
];
type Point = readonly [bigint, bigint, bigint];

const mod = (a: bigint, m = P) => ((a % m) + m) % m;
function pow(base: bigint, exponent: bigint, m: bigint): bigint {
  let result = 1n;
  for (let b = mod(base, m), e = exponent; e > 0n; e >>= 1n, b = (b * b) % m)
    if (e & 1n) result = (result * b) % m;
  return result;
}
const invert = (a: bigint, m: bigint) => pow(a, m - 2n, m);

function double([x, y, z]: Point): Point {
  if (y === 0n) return [0n, 1n, 0n];
  const delta = mod(z * z);
  const gamma = mod(y * y);
  const beta = mod(x * gamma);
  const alpha = mod(3n * (x - delta) * (x + delta)); // a = -3
  const x3 = mod(alpha * alpha - 8n * beta);
  const z3 = mod((y + z) ** 2n - gamma - delta);
  const y3 = mod(alpha * (4n * beta - x3) - 8n * gamma * gamma);
  return [x3, y3, z3];
}

function add(p: Point, q: Point): Point {
  if (p[2] === 0n) return q;
  if (q[2] === 0n) return p;
  const [x1, y1, z1] = p;
  const [x2, y2, z2] = q;
  const z1z1 = mod(z1 * z1);
  const z2z2 = mod(z2 * z2);
  const u1 = mod(x1 * z2z2);
  const u2 = mod(x2 * z1z1);
  const s1 = mod(y1 * z2 * z2z2);
  const s2 = mod(y2 * z1 * z1z1);
  const h = mod(u2 - u1);
  const r = mod(2n * (s2 - s1));
  if (h === 0n) return r === 0n ? double(p) : [0n, 1n, 0n];
  const i = mod(4n * h * h);
  const j = mod(h * i);
  const v = mod(u1 * i);
  const x3 = mod(r * r - j - 2n * v);
  const y3 = mod(r * (v - x3) - 2n * s1 * j);
  const z3 = mod(((z1 + z2) ** 2n - z1z1 - z2z2) * h);
  return [x3, y3, z3];
}

function multiply(k: bigint, point: Point): Point {
  let result: Point = [0n, 1n, 0n];
  for (let bit = BigInt(k.toString(2).length - 1); bit >= 0n; bit--) {
    result = double(result);
    if ((k >> bit) & 1n) result = add(result, point);
  }
  return result;
}

/** A DER `ECDSA-Sig-Value` over `digest` with the private scalar `d`. */
function signDigest(d: bigint, digest: Buffer): Buffer {
  const z = BigInt(`0x${digest.toString('hex')}`);
  for (;;) {
    const k = mod(BigInt(`0x${randomBytes(40).toString('hex')}`), N - 1n) + 1n;
    const [x, , zr] = multiply(k, G);
    const r = mod(mod(x * invert(zr * zr, P)), N); // the affine x (mod p), then mod n
    const s = mod(invert(k, N) * (z + r * d), N);
    if (r !== 0n && s !== 0n) return der(r, s);
  }
}

function der(r: bigint, s: bigint): Buffer {
  const integer = (n: bigint) => {
    let bytes = Buffer.from(n.toString(16).padStart(64, '0'), 'hex');
    while (bytes.length > 1 && bytes[0] === 0 && !(bytes[1]! & 0x80)) bytes = bytes.subarray(1);
    if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
  };
  const body = Buffer.concat([integer(r), integer(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}
