/**
 * The HTTP calls the agent makes to the control plane (docs/distribution.md
 * §3 and the identity endpoints), nothing else. Answers are parsed with a
 * schema before anyone uses them: the agent trusts the control plane's TLS,
 * not the shape of whatever comes back. Failures become the two errors a
 * control loop can act on (`errors.ts`).
 *
 * @module
 */
import * as z from 'zod';
import type { AwsIamProof } from './aws-iam-proof.js';
import { ControlPlaneUnavailableError } from './errors.js';
import { refuse, requestJson, send } from './http-call.js';

const issuedSchema = z.object({
  spiffeId: z.string().min(1).max(2048),
  x509Svid: z.object({ certChain: z.array(z.string().max(16_384)).min(1).max(4), expiresAt: z.string() }),
  bundle: z.unknown(),
});
const jwtSchema = z.object({ token: z.string().min(1).max(8192), expiresAt: z.string() });

/** What `/v1/attest` and `/v1/svid/x509` return (the JWT-SVID of `/v1/attest` is not used). */
export type IssuedSvid = z.infer<typeof issuedSchema>;
export type IssuedJwtSvid = z.infer<typeof jwtSchema>;

/** A snapshot fetch: new signed text, nothing new since `etag`, or nothing compiled yet. */
export type SnapshotAnswer =
  | { readonly kind: 'snapshot'; readonly jws: string; readonly etag: string | undefined }
  | { readonly kind: 'not-modified' }
  | { readonly kind: 'none'; readonly detail: string };

/** The body of `POST /v1/gateways/{env}/{name}/status`. */
export interface StatusReport {
  readonly appliedVersion: string | null;
  readonly appliedHash: string | null;
  readonly refused: number;
  readonly x509ExpiresAt: string | null;
}

/** Options of {@link ControlPlaneClient}. */
export interface ControlPlaneClientOptions {
  /** The API base URL, e.g. `https://api.weft.example`. */
  readonly url: string;
  /** @default 10 s */
  readonly timeoutMs?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/**
 * The control plane's API as the agent's loops use it: one control plane
 * ({@link ControlPlaneClient}) or several behind one face (`FailoverClient`).
 */
export interface ControlPlaneApi {
  /** `evidence`: a join token, or a cloud proof (`aws-iam-proof.ts`). */
  attest(evidence: AttestationEvidence, csr: string): Promise<IssuedSvid>;
  renewX509(csr: string, proof: string): Promise<IssuedSvid>;
  jwtSvid(audience: string, proof: string): Promise<IssuedJwtSvid>;
  fetchSnapshot(gateway: GatewayPath, bearer: string, hash?: string): Promise<SnapshotAnswer>;
  reportStatus(gateway: GatewayPath, bearer: string, report: StatusReport): Promise<void>;
  close(): void;
}

/** What `/v1/attest` is shown: a one-time join token (the string), or a signed AWS IAM proof. */
export type AttestationEvidence = string | AwsIamProof;

/** How long a liveness probe may take: it runs in front of a real call. */
const PROBE_TIMEOUT_MS = 2_000;

/** One control plane's API, as the agent uses it. */
export class ControlPlaneClient implements ControlPlaneApi {
  readonly #base: string;
  readonly #send: (path: string, init: RequestInit) => Promise<Response>;
  readonly #probe: () => Promise<Response>;
  readonly #closing = new AbortController();

  constructor(options: ControlPlaneClientOptions) {
    this.#base = options.url.replace(/\/+$/, '');
    const timeoutMs = options.timeoutMs ?? 10_000;
    const fetchImpl = options.fetch ?? globalThis.fetch;
    const cancel = this.#closing.signal;
    this.#send = (path, init) => send(fetchImpl, `${this.#base}${path}`, init, timeoutMs, cancel);
    const probeMs = Math.min(timeoutMs, PROBE_TIMEOUT_MS);
    this.#probe = () => send(fetchImpl, `${this.#base}/healthz`, {}, probeMs, cancel);
  }

  /** The base URL calls go to. */
  get url(): string {
    return this.#base;
  }

  /**
   * `GET /healthz`, the cheapest call there is (no credentials, no store).
   *
   * @throws ControlPlaneUnavailableError unless it answers 2xx.
   */
  async probe(): Promise<void> {
    const res = await this.#probe();
    await res.body?.cancel();
    if (!res.ok) throw new ControlPlaneUnavailableError(`control plane answered ${res.status} to /healthz`);
  }

  /** Cuts short every call under way (shutdown need not wait out a slow control plane). */
  close(): void {
    this.#closing.abort();
  }

  /** Trades a one-time join token (or an AWS IAM proof) and a CSR for the first X.509-SVID. */
  async attest(evidence: AttestationEvidence, csr: string): Promise<IssuedSvid> {
    const attestation = typeof evidence === 'string' ? { type: 'join_token', token: evidence } : evidence;
    const body = { attestation, csr };
    return answer(issuedSchema, await requestJson(this.#send, '/v1/attest', body), '/v1/attest');
  }

  /** Renews the X.509-SVID for a new key, proven by the current one. */
  async renewX509(csr: string, proof: string): Promise<IssuedSvid> {
    return answer(
      issuedSchema,
      await requestJson(this.#send, '/v1/svid/x509', { csr, proof }),
      '/v1/svid/x509',
    );
  }

  /** A JWT-SVID for `audience`, proven by the current X.509-SVID. */
  async jwtSvid(audience: string, proof: string): Promise<IssuedJwtSvid> {
    return answer(
      jwtSchema,
      await requestJson(this.#send, '/v1/svid/jwt', { audience, proof }),
      '/v1/svid/jwt',
    );
  }

  /** `GET /v1/gateways/{env}/{name}/snapshot`, conditional on the applied hash. */
  async fetchSnapshot(gateway: GatewayPath, bearer: string, hash?: string): Promise<SnapshotAnswer> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${bearer}`,
      accept: 'application/vnd.weft.signed-manifest',
    };
    if (hash) headers['if-none-match'] = `"${hash}"`;
    const res = await this.#send(`${gatewayPath(gateway)}/snapshot`, { headers });
    if (res.status === 304) return { kind: 'not-modified' };
    if (res.status === 404) {
      const problem = (await res.json().catch(() => ({}))) as { detail?: unknown };
      return { kind: 'none', detail: String(problem.detail ?? 'no snapshot compiled yet') };
    }
    if (res.status !== 200) await refuse(res);
    const etag = res.headers.get('etag')?.replace(/^W\//, '').replaceAll('"', '') || undefined;
    return { kind: 'snapshot', jws: (await res.text()).trim(), etag };
  }

  /** `POST /v1/gateways/{env}/{name}/status`: what the agent applied. */
  async reportStatus(gateway: GatewayPath, bearer: string, report: StatusReport): Promise<void> {
    await requestJson(this.#send, `${gatewayPath(gateway)}/status`, report, {
      authorization: `Bearer ${bearer}`,
    });
  }
}

/** Which gateway the agent is. */
export interface GatewayPath {
  readonly environment: string;
  readonly name: string;
}

function gatewayPath({ environment, name }: GatewayPath): string {
  return `/v1/gateways/${encodeURIComponent(environment)}/${encodeURIComponent(name)}`;
}

/** A body of the expected shape; anything else is a broken or foreign server, retried like an outage. */
function answer<T extends z.ZodType>(schema: T, value: unknown, path: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ControlPlaneUnavailableError(`unexpected answer from ${path}: ${z.prettifyError(parsed.error)}`);
}
