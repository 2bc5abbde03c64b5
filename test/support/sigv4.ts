/**
 * Just enough AWS Signature Version 4 to play both sides of
 * `sts:GetCallerIdentity` in tests: an agent presigning the request, and a
 * stand-in STS checking it with the secret it knows.
 *
 * @module
 */
import { createHash, createHmac } from 'node:crypto';

const sha256hex = (data: string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

export const GET_CALLER_IDENTITY_BODY = 'Action=GetCallerIdentity&Version=2011-06-15';

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** `20240102T030405Z` */
export function amzDate(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

function signature(secret: string, date: string, region: string, stringToSign: string): string {
  const key = ['sts', 'aws4_request'].reduce(hmac, hmac(hmac(`AWS4${secret}`, date), region));
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}

function canonical(
  method: string,
  host: string,
  headers: Record<string, string>,
  signed: string[],
  body: string,
) {
  const lines = signed.map((h) => `${h}:${(h === 'host' ? host : (headers[h] ?? '')).trim()}\n`).join('');
  return [method, '/', '', lines, signed.join(';'), sha256hex(body)].join('\n');
}

/** A presigned GetCallerIdentity request as an agent sends it in its proof. */
export function presignGetCallerIdentity(options: {
  credentials: Credentials;
  region: string;
  host: string;
  audience: string;
  at?: Date;
}): { url: string; method: 'POST'; headers: Record<string, string>; body: string } {
  const at = amzDate(options.at ?? new Date());
  const date = at.slice(0, 8);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
    'x-amz-date': at,
    'x-weft-audience': options.audience,
  };
  const signed = ['content-type', 'host', 'x-amz-date', 'x-weft-audience'];
  const scope = `${date}/${options.region}/sts/aws4_request`;
  const toSign = [
    'AWS4-HMAC-SHA256',
    at,
    scope,
    sha256hex(canonical('POST', options.host, headers, signed, GET_CALLER_IDENTITY_BODY)),
  ].join('\n');
  const sig = signature(options.credentials.secretAccessKey, date, options.region, toSign);
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${options.credentials.accessKeyId}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${sig}`;
  return { url: `https://${options.host}/`, method: 'POST', headers, body: GET_CALLER_IDENTITY_BODY };
}

/**
 * Checks a SigV4-signed request as STS would; returns the access key id when
 * the signature matches the secret that `secretOf` knows for it.
 */
export function verifySigV4(
  request: { method: string; host: string; headers: Record<string, string | undefined>; body: string },
  secretOf: (accessKeyId: string) => string | undefined,
): string | undefined {
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/sts\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      request.headers.authorization ?? '',
    );
  if (!m) return undefined;
  const [, keyId, date, region, signedList, sig] = m as unknown as string[];
  const secret = secretOf(keyId!);
  const at = request.headers['x-amz-date'];
  if (!secret || !at) return undefined;
  const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, v ?? '']));
  const creq = canonical(request.method, request.host, headers, signedList!.split(';'), request.body);
  const toSign = ['AWS4-HMAC-SHA256', at, `${date}/${region}/sts/aws4_request`, sha256hex(creq)].join('\n');
  return signature(secret, date!, region!, toSign) === sig ? keyId : undefined;
}
