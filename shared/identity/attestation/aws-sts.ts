/**
 * What the AWS attestor checks before and after it forwards a presigned
 * `sts:GetCallerIdentity` request: the endpoint is a real STS host (no SSRF),
 * the SigV4 `Authorization` header covers the audience header and the date,
 * and the answer names an IAM role.
 *
 * @module
 */
import { UnauthenticatedError } from '../../model/errors.js';

/** The header that binds a proof to this mesh; it must be signed. */
export const AUDIENCE_HEADER = 'x-weft-audience';

/** Headers a proof may carry and sign; all are forwarded to STS as given. `host` is set from the URL. */
export const FORWARDED_HEADERS = new Set([
  'authorization',
  'content-type',
  'x-amz-date',
  'x-amz-security-token',
  AUDIENCE_HEADER,
]);

const STS_HOST =
  /^sts(\.[a-z]{2}(-gov)?-[a-z]+-\d{1,2})?\.amazonaws\.com$|^sts\.cn-[a-z]+-\d{1,2}\.amazonaws\.com\.cn$/;

/**
 * The STS origin for a proof's URL, or an error: https, default port, no
 * credentials, path `/`, no query, and a host that is `sts.amazonaws.com`,
 * `sts.<region>.amazonaws.com` or `sts.<cn-region>.amazonaws.com.cn`.
 */
export function stsEndpoint(raw: string): string {
  const refuse = () =>
    new UnauthenticatedError(`${JSON.stringify(raw.slice(0, 200))} is not an AWS STS endpoint`);
  if (!URL.canParse(raw)) throw refuse();
  const url = new URL(raw);
  const clean = url.protocol === 'https:' && url.port === '' && !url.username && !url.password;
  if (
    !clean ||
    url.pathname !== '/' ||
    url.search !== '' ||
    url.hash !== '' ||
    !STS_HOST.test(url.hostname)
  ) {
    throw refuse();
  }
  return `https://${url.hostname}/`;
}

/** The parts of a SigV4 `Authorization` header the attestor relies on. */
export interface SigV4Authorization {
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=[A-Z0-9]{16,128}\/\d{8}\/[a-z0-9-]{1,32}\/([a-z]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]{1,512}), ?Signature=([0-9a-f]{64})$/;

/** Parses a SigV4 `Authorization` header. @throws UnauthenticatedError when it is not one. */
export function parseSigV4Authorization(header: string | undefined): SigV4Authorization {
  const m = AUTHORIZATION.exec(header ?? '');
  if (!m) throw new UnauthenticatedError('the proof has no AWS SigV4 Authorization header');
  return { service: m[1]!, signedHeaders: m[2]!.split(';'), signature: m[3]! };
}

/** `20240102T030405Z` to epoch ms, or `NaN`. */
export function parseAmzDate(value: string | undefined): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? '');
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : Number.NaN;
}

/** The caller as GetCallerIdentity names it, reduced to its IAM role. */
export interface AwsPrincipal {
  readonly accountId: string;
  readonly partition: string;
  readonly roleName: string;
  /** `arn:<partition>:iam::<account>:role/<name>` (an assumed-role ARN has no role path). */
  readonly roleArn: string;
  readonly sessionName: string;
}

const ASSUMED_ROLE =
  /^arn:(aws|aws-cn|aws-us-gov):sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/([\w+=,.@-]{1,64})$/;

/**
 * Reads `<Arn>` and `<Account>` from a GetCallerIdentity response. Only
 * assumed roles may attest: instances, functions and pods run as roles, and
 * an IAM user's long-lived keys are not evidence of where code runs.
 */
export function principalFromResponse(xml: string): AwsPrincipal {
  const arn = /<GetCallerIdentityResult>[\s\S]*?<Arn>([^<]{1,2048})<\/Arn>/.exec(xml)?.[1];
  const account = /<Account>(\d{12})<\/Account>/.exec(xml)?.[1];
  if (!arn) throw new UnauthenticatedError('STS answered without a caller ARN');
  const m = ASSUMED_ROLE.exec(arn);
  if (!m) throw new UnauthenticatedError(`only assumed IAM roles may attest, not ${arn}`);
  const [, partition, accountId, roleName, sessionName] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (account !== undefined && account !== accountId)
    throw new UnauthenticatedError('STS answer is inconsistent');
  return {
    accountId,
    partition,
    roleName,
    roleArn: `arn:${partition}:iam::${accountId}:role/${roleName}`,
    sessionName,
  };
}
