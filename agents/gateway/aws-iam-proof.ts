/**
 * The agent's side of `aws_iam` attestation (`shared/identity/attestation/aws-iam.ts`):
 * find the role credentials where AWS puts them, then SigV4-sign, but not
 * send, an `sts:GetCallerIdentity` POST that covers the mesh's
 * `X-Weft-Audience`. The control plane sends it; STS's answer names the role.
 * No AWS SDK: the three credential sources and SigV4 are a few HTTP calls
 * and HMACs, and the agent stays small.
 *
 * Credentials are looked for in the order the AWS SDKs use, the first found wins:
 * 1. `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`);
 * 2. the ECS task role (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, or
 *    `AWS_CONTAINER_CREDENTIALS_FULL_URI` with `AWS_CONTAINER_AUTHORIZATION_TOKEN`);
 * 3. the EC2 instance role through IMDSv2 (unless `AWS_EC2_METADATA_DISABLED=true`).
 *
 * Keys, session tokens and signatures are never logged nor put in an error.
 *
 * @example
 * const proof = await createAwsIamProof({ audience: 'spiffe://acme.test' });
 * await client.attest(proof, csrPem);
 *
 * @module
 */
import { createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { AUDIENCE_HEADER, stsEndpoint } from '../../shared/identity/attestation/aws-sts.js';
import { UnauthenticatedError } from '../../shared/model/errors.js';

/** Role credentials, as every AWS credential source hands them out. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Present for temporary (role) credentials. */
  readonly sessionToken?: string;
}

/** The `attestation` of `POST /v1/attest` for `aws_iam`, as the attestor's proof schema wants it. */
export interface AwsIamProof {
  readonly type: 'aws_iam';
  readonly url: string;
  readonly method: 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Where the credentials and the region are looked for. */
export interface AwsIamProofOptions {
  /** What the proof is made for, `spiffe://<trust domain>` (signed in `X-Weft-Audience`). */
  readonly audience: string;
  /** @default `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the instance's region from IMDS */
  readonly region?: string;
  /** Where the `AWS_*` variables are read. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The ECS credentials endpoint for a relative URI. @default 'http://169.254.170.2' */
  readonly ecsBaseUrl?: string;
  /** The EC2 instance metadata service. @default `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else 'http://169.254.169.254' */
  readonly imdsBaseUrl?: string;
  /** Per metadata call. @default 1 s, as the AWS SDKs */
  readonly timeoutMs?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * The agent cannot attest with its IAM role, and waiting will not help: no
 * credentials were found, or the control plane refused the proof. The
 * message says what was tried and what to change.
 */
export class AwsIamAttestationError extends UnauthenticatedError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AwsIamAttestationError';
  }
}

export const GET_CALLER_IDENTITY_BODY = 'Action=GetCallerIdentity&Version=2011-06-15';
const FORM = 'application/x-www-form-urlencoded; charset=utf-8';
const REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d{1,2}$/;

/** Finds credentials and the region, and signs a GetCallerIdentity for `options.audience`. */
export async function createAwsIamProof(options: AwsIamProofOptions): Promise<AwsIamProof> {
  const found = await findAwsCredentials(options);
  const env = options.env ?? process.env;
  const region = options.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || (await found.region?.());
  if (!region)
    throw new AwsIamAttestationError(
      `no AWS region for the STS endpoint (credentials from ${found.source}): set AWS_REGION or --aws-region`,
    );
  return signGetCallerIdentity({
    credentials: found.credentials,
    region,
    audience: options.audience,
    at: new Date((options.now ?? Date.now)()),
  });
}

/** `https://sts.<region>.amazonaws.com/` (`.com.cn` in China), exactly as `stsEndpoint` accepts it. */
export function stsUrl(region: string): string {
  if (!REGION.test(region)) throw new TypeError(`"${region}" is not an AWS region such as us-east-1`);
  const url = `https://sts.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}/`;
  stsEndpoint(url);
  return url;
}

/** The unsent, signed `POST /` with `Action=GetCallerIdentity`, as `aws_iam` proof. */
export function signGetCallerIdentity(input: {
  readonly credentials: AwsCredentials;
  readonly region: string;
  readonly audience: string;
  readonly at: Date;
}): AwsIamProof {
  const url = stsUrl(input.region);
  const headers: Record<string, string> = {
    'content-type': FORM,
    'x-amz-date': amzDate(input.at),
    ...(input.credentials.sessionToken && { 'x-amz-security-token': input.credentials.sessionToken }),
    [AUDIENCE_HEADER]: input.audience,
  };
  const { authorization } = signSigV4({
    method: 'POST',
    host: new URL(url).host,
    path: '/',
    headers,
    body: GET_CALLER_IDENTITY_BODY,
    service: 'sts',
    region: input.region,
    credentials: input.credentials,
  });
  return {
    type: 'aws_iam',
    url,
    method: 'POST',
    headers: { ...headers, authorization },
    body: GET_CALLER_IDENTITY_BODY,
  };
}

/** `20240102T030405Z` */
export function amzDate(at: Date): string {
  return at.toISOString().replace(/[-:]|\.\d{3}/g, '');
}

const sha256hex = (data: string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/**
 * AWS Signature Version 4 of a request without a query string, every given
 * header signed, plus `host`. `headers` must hold `x-amz-date`.
 */
export function signSigV4(request: {
  readonly method: string;
  readonly host: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly service: string;
  readonly region: string;
  readonly credentials: AwsCredentials;
}): { authorization: string; signedHeaders: string; signature: string } {
  const all = new Map([['host', request.host]]);
  for (const [name, value] of Object.entries(request.headers))
    all.set(name.toLowerCase(), value.trim().replace(/\s+/g, ' '));
  const names = [...all.keys()].sort();
  const at = all.get('x-amz-date');
  if (!at) throw new TypeError('a SigV4 request needs an x-amz-date header');
  const signedHeaders = names.join(';');
  const canonical = [
    request.method.toUpperCase(),
    request.path,
    '',
    names.map((n) => `${n}:${all.get(n)}\n`).join(''),
    signedHeaders,
    sha256hex(request.body),
  ].join('\n');
  const scope = `${at.slice(0, 8)}/${request.region}/${request.service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', at, scope, sha256hex(canonical)].join('\n');
  const key = [request.region, request.service, 'aws4_request'].reduce(
    hmac,
    hmac(`AWS4${request.credentials.secretAccessKey}`, at.slice(0, 8)),
  );
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  return {
    authorization: `AWS4-HMAC-SHA256 Credential=${request.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    signedHeaders,
    signature,
  };
}

/** Credentials, where they came from, and (IMDS only) how to ask the instance for its region. */
export interface FoundCredentials {
  readonly credentials: AwsCredentials;
  /** `environment`, `ECS credentials endpoint` or `EC2 instance metadata (role <name>)`: never a secret. */
  readonly source: string;
  readonly region?: () => Promise<string | undefined>;
}

/**
 * The first credentials of: the environment, the ECS endpoint, IMDSv2.
 *
 * @throws AwsIamAttestationError naming each source tried and why it gave nothing.
 */
export async function findAwsCredentials(
  options: Omit<AwsIamProofOptions, 'audience'>,
): Promise<FoundCredentials> {
  const env = options.env ?? process.env;
  const get = metadataGetter(options);
  const tried: string[] = [];
  if (env.AWS_ACCESS_KEY_ID || env.AWS_SECRET_ACCESS_KEY) {
    if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY)
      throw new AwsIamAttestationError(
        `AWS_${env.AWS_ACCESS_KEY_ID ? 'SECRET_ACCESS_KEY' : 'ACCESS_KEY_ID'} is not set but its pair is: set both, or neither to use the ECS task role or EC2 instance role`,
      );
    const credentials = {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      ...(env.AWS_SESSION_TOKEN && { sessionToken: env.AWS_SESSION_TOKEN }),
    };
    return { credentials, source: 'environment' };
  }
  tried.push('AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (not set)');
  const ecs = ecsEndpoint(env, options.ecsBaseUrl ?? 'http://169.254.170.2');
  if (ecs) {
    // Set by ECS (or EKS Pod Identity): when it fails, the instance role is not what was meant.
    try {
      const token = env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
        ? (await readFile(env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, 'utf8')).trim()
        : env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
      const body = await get(ecs.url, token ? { authorization: token } : {});
      return { credentials: parseCredentials(body), source: 'ECS credentials endpoint' };
    } catch (error) {
      throw new AwsIamAttestationError(
        `no AWS credentials from the ECS credentials endpoint ${ecs.shown}: ${why(error)}; does the task definition have a taskRoleArn?`,
        { cause: error },
      );
    }
  }
  tried.push('the ECS task role (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI not set)');
  const imds = (
    options.imdsBaseUrl ??
    (env.AWS_EC2_METADATA_SERVICE_ENDPOINT || 'http://169.254.169.254')
  ).replace(/\/+$/, '');
  if (env.AWS_EC2_METADATA_DISABLED?.toLowerCase() === 'true') {
    tried.push('EC2 instance metadata (AWS_EC2_METADATA_DISABLED=true)');
  } else {
    try {
      return await fromImds(imds, get);
    } catch (error) {
      tried.push(`EC2 instance metadata at ${imds} (${why(error)})`);
    }
  }
  throw new AwsIamAttestationError(
    `no AWS credentials for --attestation aws-iam: tried ${tried.join(', ')}; run the agent on EC2 with an instance profile or on ECS with a task role, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN)`,
  );
}

type Get = (url: string, headers?: Record<string, string>, method?: string) => Promise<string>;

function metadataGetter(options: Omit<AwsIamProofOptions, 'audience'>): Get {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 1_000;
  return async (url, headers = {}, method = 'GET') => {
    let res: Response;
    try {
      res = await fetchImpl(url, {
        method,
        headers,
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      throw new Error(timedOut ? `no answer within ${timeoutMs} ms` : `unreachable: ${why(error)}`, {
        cause: error,
      });
    }
    const text = (await res.text()).slice(0, 65_536);
    if (!res.ok) throw new Error(`HTTP ${res.status} from ${new URL(url).pathname}`);
    return text;
  };
}

async function fromImds(base: string, get: Get): Promise<FoundCredentials> {
  const token = await get(
    `${base}/latest/api/token`,
    { 'x-aws-ec2-metadata-token-ttl-seconds': '300' },
    'PUT',
  ).catch((error: unknown) => {
    // In a container with the default hop limit of 1, the PUT's answer never arrives.
    const hint = /^no answer/.test(why(error)) ? '; in a container, the metadata hop limit must be 2' : '';
    throw new Error(`IMDSv2 token: ${why(error)}${hint}`, { cause: error });
  });
  const auth = { 'x-aws-ec2-metadata-token': token };
  const listing = await get(`${base}/latest/meta-data/iam/security-credentials/`, auth).catch(
    (error: unknown) => {
      throw new Error(`no instance role: ${why(error)}; attach an instance profile`, { cause: error });
    },
  );
  const role = listing.split('\n')[0]?.trim();
  if (!role || !/^[\w+=,.@-]{1,64}$/.test(role))
    throw new Error('no instance role; attach an instance profile');
  const credentials = parseCredentials(
    await get(`${base}/latest/meta-data/iam/security-credentials/${role}`, auth),
  );
  return {
    credentials,
    source: `EC2 instance metadata (role ${role})`,
    region: () =>
      get(`${base}/latest/meta-data/placement/region`, auth).then(
        (r) => r.trim(),
        () => undefined,
      ),
  };
}

/** The ECS endpoint to ask, if the environment names one; a full URI must be https or a local address. */
function ecsEndpoint(
  env: Readonly<Record<string, string | undefined>>,
  base: string,
): { url: string; shown: string } | undefined {
  const relative = env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI;
  if (relative) {
    const url = `${base.replace(/\/+$/, '')}${relative.startsWith('/') ? '' : '/'}${relative}`;
    return { url, shown: new URL(url).origin };
  }
  const full = env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
  if (!full) return undefined;
  const url = URL.canParse(full) ? new URL(full) : undefined;
  const local = ['127.0.0.1', 'localhost', '[::1]', '169.254.170.2', '169.254.170.23', '[fd00:ec2::23]'];
  if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && local.includes(url.hostname))))
    throw new AwsIamAttestationError(
      'AWS_CONTAINER_CREDENTIALS_FULL_URI must be an https URL or an http URL on a loopback or ECS/EKS link-local address',
    );
  return { url: url.href, shown: url.origin };
}

/** The JSON both ECS and IMDS answer with. */
function parseCredentials(text: string): AwsCredentials {
  let body: Record<string, unknown> | null;
  try {
    body = JSON.parse(text) as Record<string, unknown> | null;
  } catch {
    throw new Error('the answer is not JSON');
  }
  if (typeof body !== 'object' || body === null) throw new Error('the answer is not a JSON object');
  const { AccessKeyId, SecretAccessKey, Token } = body;
  if (body.Code !== undefined && body.Code !== 'Success')
    throw new Error(`the answer's Code is ${String(body.Code)}`);
  if (
    typeof AccessKeyId !== 'string' ||
    typeof SecretAccessKey !== 'string' ||
    !AccessKeyId ||
    !SecretAccessKey
  )
    throw new Error('the answer has no AccessKeyId and SecretAccessKey');
  return {
    accessKeyId: AccessKeyId,
    secretAccessKey: SecretAccessKey,
    ...(typeof Token === 'string' && Token && { sessionToken: Token }),
  };
}

function why(error: unknown): string {
  const cause = (error as Error).cause as NodeJS.ErrnoException | undefined;
  const message = (error as Error).message ?? String(error);
  const detail = cause?.code ?? cause?.message;
  return detail && !message.includes(detail) ? `${message} (${detail})` : message;
}
