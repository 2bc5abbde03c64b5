import { describe, expect, it } from 'vitest';
import { AwsIamAttestor } from '../../../../shared/identity/attestation/aws-iam.js';
import { MemoryReplayCache } from '../../../../shared/identity/attestation/replay-cache.js';
import type { AttestationRules } from '../../../../shared/model/attestation-rules.js';
import { UnauthenticatedError, ValidationError } from '../../../../shared/model/errors.js';
import { startHttpServer } from '../../../support/http.js';
import { GET_CALLER_IDENTITY_BODY, presignGetCallerIdentity, verifySigV4 } from '../../../support/sigv4.js';

const audience = 'spiffe://acme.test';
const gateway = 'spiffe://acme.test/gw/aws-us/gw-1';
const fallback = 'spiffe://acme.test/gw/aws-us/any';
const roles = {
  AKIAGATEWAY000000001: {
    secret: 'gateway-secret',
    arn: 'arn:aws:sts::111122223333:assumed-role/weft-gateway/i-0abc',
  },
  AKIAOTHERROLE0000001: {
    secret: 'other-secret',
    arn: 'arn:aws:sts::111122223333:assumed-role/batch/i-0def',
  },
  AKIASTRANGER00000001: {
    secret: 'stranger-secret',
    arn: 'arn:aws:sts::999988887777:assumed-role/weft-gateway/x',
  },
  AKIAIAMUSER000000001: { secret: 'user-secret', arn: 'arn:aws:iam::111122223333:user/alice' },
} as const;
type Role = keyof typeof roles;
const credentials = (id: Role) => ({ accessKeyId: id, secretAccessKey: roles[id].secret });

const rules: AttestationRules = {
  aws: [
    {
      accountId: '111122223333',
      roleArn: 'arn:aws:iam::111122223333:role/mesh/weft-gateway',
      spiffeId: gateway,
    },
    { accountId: '111122223333', spiffeId: fallback },
  ],
};

describe('AwsIamAttestor', async () => {
  // A stand-in for STS that checks SigV4 with the secrets it knows, as STS does.
  const sts = await startHttpServer((req, body, res) => {
    const host = String(req.headers['x-test-host']);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    const keyId = verifySigV4(
      { method: req.method ?? '', host, headers, body },
      (id) => roles[id as Role]?.secret,
    );
    if (!keyId || body !== GET_CALLER_IDENTITY_BODY) {
      res.writeHead(403, { 'content-type': 'text/xml' });
      res.end('<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code></Error></ErrorResponse>');
      return;
    }
    const arn = roles[keyId as Role].arn;
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(
      `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>${arn}</Arn><UserId>AROA:x</UserId><Account>${arn.split(':')[4]}</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`,
    );
  });
  const sent: string[] = [];
  // The allow-listed STS host "resolves" to the stand-in: the URL is rewritten, the host passed along.
  const fetchToStandIn: typeof fetch = (input, init) => {
    const url = new URL(String(input));
    sent.push(url.href);
    const headers = { ...(init?.headers as Record<string, string>), 'x-test-host': url.host };
    return fetch(`${sts.url}${url.pathname}`, { ...init, headers });
  };
  const attestor = () =>
    new AwsIamAttestor({ audience, replayCache: new MemoryReplayCache(), fetch: fetchToStandIn });
  const proof = (id: Role, extra: { audience?: string; at?: Date; host?: string; region?: string } = {}) =>
    presignGetCallerIdentity({
      credentials: credentials(id),
      region: extra.region ?? 'us-east-1',
      host: extra.host ?? 'sts.us-east-1.amazonaws.com',
      audience: extra.audience ?? audience,
      at: extra.at,
    });

  it('maps an assumed role to its rule, the most specific rule winning', async () => {
    const result = await attestor().attest(proof('AKIAGATEWAY000000001'), rules);
    expect(result).toEqual({
      method: 'aws_iam',
      spiffeId: gateway,
      selectors: [
        'aws_iam:account:111122223333',
        'aws_iam:role:arn:aws:iam::111122223333:role/weft-gateway',
        'aws_iam:session:i-0abc',
      ],
    });
    expect(sent.at(-1)).toBe('https://sts.us-east-1.amazonaws.com/');
  });

  it('falls back to an account-wide rule, and matches roleName rules', async () => {
    expect((await attestor().attest(proof('AKIAOTHERROLE0000001'), rules)).spiffeId).toBe(fallback);
    const byName: AttestationRules = {
      aws: [{ accountId: '111122223333', roleName: 'batch', spiffeId: gateway }],
    };
    expect((await attestor().attest(proof('AKIAOTHERROLE0000001'), byName)).spiffeId).toBe(gateway);
  });

  it('accepts the global and the China endpoints', async () => {
    for (const [host, region] of [
      ['sts.amazonaws.com', 'us-east-1'],
      ['sts.cn-north-1.amazonaws.com.cn', 'cn-north-1'],
    ]) {
      await expect(
        attestor().attest(proof('AKIAGATEWAY000000001', { host, region }), rules),
      ).resolves.toBeDefined();
    }
  });

  it('refuses a forged signature (STS says no)', async () => {
    const forged = presignGetCallerIdentity({
      credentials: { accessKeyId: 'AKIAGATEWAY000000001', secretAccessKey: 'guessed' },
      region: 'us-east-1',
      host: 'sts.us-east-1.amazonaws.com',
      audience,
    });
    await expect(attestor().attest(forged, rules)).rejects.toThrow(/refused the signed request \(HTTP 403\)/);
  });

  it('refuses a proof made for another audience, even relabelled', async () => {
    const before = sent.length;
    const other = proof('AKIAGATEWAY000000001', { audience: 'spiffe://other.test' });
    await expect(attestor().attest(other, rules)).rejects.toThrow(/another audience/);
    expect(sent.length).toBe(before);
    const relabelled = { ...other, headers: { ...other.headers, 'x-weft-audience': audience } };
    await expect(attestor().attest(relabelled, rules)).rejects.toThrow(/HTTP 403/);
  });

  it('refuses an expired proof without asking STS', async () => {
    const before = sent.length;
    const old = proof('AKIAGATEWAY000000001', { at: new Date(Date.now() - 16 * 60_000) });
    await expect(attestor().attest(old, rules)).rejects.toThrow(/expired/);
    const future = proof('AKIAGATEWAY000000001', { at: new Date(Date.now() + 60 * 60_000) });
    await expect(attestor().attest(future, rules)).rejects.toThrow(/X-Amz-Date/);
    expect(sent.length).toBe(before);
  });

  it('refuses a replayed proof', async () => {
    const a = attestor();
    const p = proof('AKIAGATEWAY000000001');
    await a.attest(p, rules);
    await expect(a.attest(p, rules)).rejects.toThrow(/already used/);
  });

  it('refuses roles no rule admits, IAM users, and a Mesh without AWS rules', async () => {
    await expect(attestor().attest(proof('AKIASTRANGER00000001'), rules)).rejects.toThrow(
      /no attestation rule/,
    );
    await expect(attestor().attest(proof('AKIAIAMUSER000000001'), rules)).rejects.toThrow(
      /only assumed IAM roles/,
    );
    await expect(attestor().attest(proof('AKIAGATEWAY000000001'), {})).rejects.toThrow(/not enabled/);
  });

  it('refuses ambiguous rules instead of guessing', async () => {
    const twice: AttestationRules = {
      aws: [
        { accountId: '111122223333', roleName: 'weft-gateway', spiffeId: gateway },
        { accountId: '111122223333', roleName: 'weft-gateway', spiffeId: fallback },
      ],
    };
    await expect(attestor().attest(proof('AKIAGATEWAY000000001'), twice)).rejects.toThrow(/ambiguous/);
  });

  it.each([
    'https://sts.evil.example/',
    'http://sts.amazonaws.com/',
    'https://sts.amazonaws.com.evil.example/',
    'https://evil.example/sts.amazonaws.com/',
    'https://sts.amazonaws.com:8443/',
    'https://user:pw@sts.amazonaws.com/',
    'https://sts.us-east-1.amazonaws.com/?Action=AssumeRole',
    'https://sts.us-east-1.amazonaws.com/x',
    'https://iam.amazonaws.com/',
    'https://169.254.169.254/',
    'https://127.0.0.1/',
    'https://sts.us-east-1.amazonaws.com.cn/',
    'file:///etc/passwd',
    'not a url',
  ])('refuses %s before sending anything', async (url) => {
    const before = sent.length;
    const p = { ...proof('AKIAGATEWAY000000001'), url };
    await expect(attestor().attest(p, rules)).rejects.toThrow(UnauthenticatedError);
    expect(sent.length).toBe(before);
  });

  it('refuses other STS actions, unsigned audience headers and malformed proofs before sending', async () => {
    const before = sent.length;
    const p = proof('AKIAGATEWAY000000001');
    await expect(
      attestor().attest({ ...p, body: 'Action=AssumeRole&Version=2011-06-15' }, rules),
    ).rejects.toThrow(/GetCallerIdentity/);
    const unsigned = {
      ...p,
      headers: { ...p.headers, authorization: p.headers.authorization!.replace(';x-weft-audience', '') },
    };
    await expect(attestor().attest(unsigned, rules)).rejects.toThrow(/must be signed/);
    await expect(attestor().attest({ url: 1 }, rules)).rejects.toThrow(ValidationError);
    const smuggled = {
      ...p,
      headers: { ...p.headers, 'x-amz-date': `${p.headers['x-amz-date']}\r\nHost: evil` },
    };
    await expect(attestor().attest(smuggled, rules)).rejects.toThrow(ValidationError);
    expect(sent.length).toBe(before);
  });
});
