/**
 * `weft agent --attestation aws-iam`: SigV4 against AWS's published test
 * vectors, the proof checked by the control plane's own attestor, credential
 * discovery (environment, then the ECS endpoint, then IMDSv2) against real
 * loopback servers, and a real agent process that attests with its role
 * against a real control plane. STS cannot run here: the control plane's
 * attestor reaches it through `globalThis.fetch`, and at that seam alone a
 * fake STS answers (`support/fake-aws.ts`), after checking the signature
 * with the secret it knows, as STS does.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  AwsIamAttestationError,
  createAwsIamProof,
  findAwsCredentials,
  signGetCallerIdentity,
  signSigV4,
  stsUrl,
} from '../../../agents/gateway/aws-iam-proof.js';
import { AwsIamAttestor } from '../../../shared/identity/attestation/aws-iam.js';
import { stsEndpoint } from '../../../shared/identity/attestation/aws-sts.js';
import { MemoryReplayCache } from '../../../shared/identity/attestation/replay-cache.js';
import { runWeft } from '../../cli/weft-process.js';
import { freePort } from '../../support/free-port.js';
import { tempDir } from '../../support/temp-dir.js';
import { killAgents, startAgentWithFlags, waitReady } from './support/agent-process.js';
import {
  ACCOUNT,
  fakeRole,
  fakeStsFetch,
  startFakeEcsCredentials,
  startFakeImds,
} from './support/fake-aws.js';
import { ENV, GATEWAY_ID, GW, meshDocs, startMeshHost, TD } from './support/mesh-host.js';

const AUDIENCE = `spiffe://${TD}`;
const gatewayRole = fakeRole('weft-gateway', 'i-0abc', 'gateway');
const otherRole = fakeRole('batch', 'i-0def', 'batch');
const AWS_UNSET = Object.fromEntries(
  [
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_REGION',
    'AWS_DEFAULT_REGION',
    'AWS_PROFILE',
    'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    'AWS_CONTAINER_AUTHORIZATION_TOKEN',
    'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
    'AWS_EC2_METADATA_DISABLED',
    'AWS_EC2_METADATA_SERVICE_ENDPOINT',
  ].map((name) => [name, '']),
);
const envOf = (role: { accessKeyId: string; secretAccessKey: string; sessionToken: string }) => ({
  AWS_ACCESS_KEY_ID: role.accessKeyId,
  AWS_SECRET_ACCESS_KEY: role.secretAccessKey,
  AWS_SESSION_TOKEN: role.sessionToken,
});

describe('SigV4 (AWS Signature Version 4 test suite)', () => {
  const suite = {
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
    host: 'example.amazonaws.com',
    path: '/',
    service: 'service',
    region: 'us-east-1',
  };

  it('post-x-www-form-urlencoded', () => {
    const signed = signSigV4({
      ...suite,
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Amz-Date': '20150830T123600Z' },
      body: 'Param1=value1',
    });
    expect(signed.signedHeaders).toBe('content-type;host;x-amz-date');
    expect(signed.signature).toBe('ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a');
    expect(signed.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a',
    );
  });

  it('post-vanilla', () => {
    const signed = signSigV4({
      ...suite,
      method: 'POST',
      headers: { 'X-Amz-Date': '20150830T123600Z' },
      body: '',
    });
    expect(signed.signature).toBe('5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b');
  });
});

describe('the aws_iam proof', async () => {
  const sts = fakeStsFetch([gatewayRole, otherRole], () => Promise.reject(new Error('not STS')));
  const rules = { aws: [{ accountId: ACCOUNT, roleName: 'weft-gateway', spiffeId: GATEWAY_ID }] };
  const attestor = () =>
    new AwsIamAttestor({ audience: AUDIENCE, replayCache: new MemoryReplayCache(), fetch: sts.fetch });
  const proofOf = (role = gatewayRole, audience = AUDIENCE, region = 'eu-west-1') => {
    const { type, ...proof } = signGetCallerIdentity({ credentials: role, region, audience, at: new Date() });
    expect(type).toBe('aws_iam');
    return proof;
  };

  it('is what the control plane attestor takes: signed by the role, for the audience, STS vouching', async () => {
    const result = await attestor().attest(proofOf(), rules);
    expect(result.spiffeId).toBe(GATEWAY_ID);
    expect(result.selectors).toContain(`aws_iam:role:arn:aws:iam::${ACCOUNT}:role/weft-gateway`);
    const call = sts.calls.at(-1)!;
    expect(call).toMatchObject({ host: 'sts.eu-west-1.amazonaws.com', accepted: true });
    expect(call.headers.authorization).toMatch(
      /SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-weft-audience, Signature=/,
    );
  });

  it('is refused for another mesh, or for a role the Mesh does not name', async () => {
    await expect(attestor().attest(proofOf(gatewayRole, 'spiffe://other.test'), rules)).rejects.toThrow(
      /another audience/,
    );
    await expect(attestor().attest(proofOf(otherRole), rules)).rejects.toThrow();
  });

  it('names the regional STS endpoint exactly as the attestor accepts it, China included', () => {
    for (const region of ['us-east-1', 'eu-west-1', 'us-gov-west-1', 'cn-north-1']) {
      expect(stsEndpoint(stsUrl(region))).toBe(stsUrl(region));
    }
    expect(stsUrl('cn-north-1')).toBe('https://sts.cn-north-1.amazonaws.com.cn/');
    expect(() => stsUrl('mars-1')).toThrow(TypeError);
  });

  it('has no session token header for long-lived keys', () => {
    const { headers } = proofOf({ ...gatewayRole, sessionToken: '' });
    expect(headers).not.toHaveProperty('x-amz-security-token');
    expect(headers.authorization).toContain('SignedHeaders=content-type;host;x-amz-date;x-weft-audience,');
  });
});

describe('credential discovery: environment, then the ECS endpoint, then IMDSv2', async () => {
  const ecsRole = fakeRole('ecs-task', 'task-1', 'ecstask');
  const imdsRole = fakeRole('ec2-instance', 'i-0123', 'instance');
  const imds = await startFakeImds({ role: imdsRole, region: 'ap-south-1' });
  const noProfile = await startFakeImds({});
  const ecs = await startFakeEcsCredentials({ role: ecsRole, path: '/v2/credentials/abc' });
  const ecsFull = await startFakeEcsCredentials({
    role: ecsRole,
    path: '/creds',
    authorization: 'pod-identity-token',
  });
  const closed = `http://127.0.0.1:${await freePort()}`;
  const base = { ecsBaseUrl: ecs.url, imdsBaseUrl: imds.url, timeoutMs: 500 };
  afterEach(() => {
    for (const server of [imds, noProfile, ecs, ecsFull]) server.requests.length = 0;
  });

  it('takes the environment first, asking no endpoint', async () => {
    const found = await findAwsCredentials({
      ...base,
      env: { ...envOf(gatewayRole), AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/abc' },
    });
    expect(found).toMatchObject({
      source: 'environment',
      credentials: { accessKeyId: gatewayRole.accessKeyId },
    });
    expect([...ecs.requests, ...imds.requests]).toEqual([]);
  });

  it('then the ECS task role (relative URI), not the instance role', async () => {
    const found = await findAwsCredentials({
      ...base,
      env: { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/abc' },
    });
    expect(found.credentials).toEqual({
      accessKeyId: ecsRole.accessKeyId,
      secretAccessKey: ecsRole.secretAccessKey,
      sessionToken: ecsRole.sessionToken,
    });
    expect(imds.requests).toEqual([]);
  });

  it('a full URI with its authorization token; without it the endpoint refuses, and no instance role is used', async () => {
    const env = { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${ecsFull.url}/creds` };
    const found = await findAwsCredentials({
      ...base,
      env: { ...env, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'pod-identity-token' },
    });
    expect(found.credentials.accessKeyId).toBe(ecsRole.accessKeyId);
    await expect(findAwsCredentials({ ...base, env })).rejects.toThrow(
      /ECS credentials endpoint http:\/\/127\.0\.0\.1:\d+: HTTP 403/,
    );
    await expect(
      findAwsCredentials({
        ...base,
        env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://metadata.example/creds' },
      }),
    ).rejects.toThrow(/must be an https URL or an http URL on a loopback/);
    expect(imds.requests).toEqual([]);
  });

  it('then IMDSv2: a session token first, then the role and its credentials; the region from the instance', async () => {
    const proof = await createAwsIamProof({ ...base, audience: AUDIENCE, env: {} });
    expect(imds.requests).toEqual([
      'PUT /latest/api/token',
      'GET /latest/meta-data/iam/security-credentials/',
      'GET /latest/meta-data/iam/security-credentials/ec2-instance',
      'GET /latest/meta-data/placement/region',
    ]);
    expect(proof.url).toBe('https://sts.ap-south-1.amazonaws.com/');
    expect(proof.headers['x-amz-security-token']).toBe(imdsRole.sessionToken);
    expect(proof.headers.authorization).toContain(`Credential=${imdsRole.accessKeyId}/`);
    // AWS_REGION wins over the instance's region.
    const west = await createAwsIamProof({ ...base, audience: AUDIENCE, env: { AWS_REGION: 'us-west-2' } });
    expect(west.url).toBe('https://sts.us-west-2.amazonaws.com/');
  });

  it('nothing anywhere: one error naming each place tried and how to fix it', async () => {
    const error = await findAwsCredentials({ ...base, imdsBaseUrl: closed, env: {} }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AwsIamAttestationError);
    const message = (error as Error).message;
    expect(message).toMatch(/^no AWS credentials for --attestation aws-iam: tried AWS_ACCESS_KEY_ID/);
    expect(message).toContain('the ECS task role (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI not set)');
    expect(message).toMatch(
      /EC2 instance metadata at http:\/\/127\.0\.0\.1:\d+ \(IMDSv2 token: unreachable.*ECONNREFUSED/,
    );
    expect(message).toContain('instance profile');
    expect(message).not.toContain('\n');
    await expect(findAwsCredentials({ ...base, imdsBaseUrl: noProfile.url, env: {} })).rejects.toThrow(
      /no instance role: HTTP 404.*attach an instance profile/,
    );
    await expect(findAwsCredentials({ ...base, env: { AWS_EC2_METADATA_DISABLED: 'true' } })).rejects.toThrow(
      /AWS_EC2_METADATA_DISABLED=true/,
    );
    expect(imds.requests).toEqual([]);
    await expect(findAwsCredentials({ ...base, env: { AWS_ACCESS_KEY_ID: 'ASIAHALF' } })).rejects.toThrow(
      /AWS_SECRET_ACCESS_KEY is not set/,
    );
  });
});

describe('weft agent --attestation aws-iam', async () => {
  const realFetch = globalThis.fetch;
  const sts = fakeStsFetch([gatewayRole, otherRole], realFetch);
  const docs = meshDocs().map((d) =>
    d.kind === 'Mesh'
      ? {
          ...d,
          spec: {
            ...d.spec,
            attestation: {
              joinToken: {},
              aws: [{ accountId: ACCOUNT, roleName: 'weft-gateway', spiffeId: GATEWAY_ID }],
            },
          },
        }
      : d,
  );
  const flags = (dir: string) => [
    ...['--environment', ENV, '--name', GW, '--data', dir, '--admin-address', '127.0.0.1:0'],
    ...['--ingress-address', '127.0.0.1:0', '--egress-address', '127.0.0.1:0'],
    ...['--attestation', 'aws-iam', '--trust-domain', TD],
  ];
  let cp: Awaited<ReturnType<typeof startMeshHost>>;
  beforeAll(async () => {
    // The control plane runs in this process; its attestor's STS calls meet the fake.
    vi.stubGlobal('fetch', sts.fetch);
    cp = await startMeshHost({ docs });
  });
  afterAll(async () => {
    await killAgents();
    await cp?.close();
    vi.unstubAllGlobals();
  });

  it('attests with the role in AWS_* (no join token) and gets ready; no secret is logged', async () => {
    const dir = `${await tempDir('weft-agent-aws-')}/data`;
    for (const [name, value] of Object.entries({
      ...AWS_UNSET,
      ...envOf(gatewayRole),
      AWS_REGION: 'us-east-1',
    }))
      vi.stubEnv(name, value);
    const started = startAgentWithFlags([...flags(dir), '--control-plane', cp.url]);
    vi.unstubAllEnvs(); // the child has its environment already
    const agent = await started;
    await waitReady(agent);
    expect(agent.lines).toContainEqual(
      expect.objectContaining({ msg: 'attested with the AWS IAM role', spiffeId: GATEWAY_ID }),
    );
    const call = sts.calls.find((c) => c.headers.authorization?.includes(gatewayRole.accessKeyId));
    expect(call).toMatchObject({ host: 'sts.us-east-1.amazonaws.com', accepted: true });
    expect(call?.headers['x-weft-audience']).toBe(AUDIENCE);
    const signature = /Signature=([0-9a-f]{64})/.exec(call!.headers.authorization!)![1]!;
    for (const secret of [gatewayRole.secretAccessKey, gatewayRole.sessionToken, signature])
      expect(agent.output()).not.toContain(secret);
    expect(await agent.stop()).toBe(0);
  });

  it('a role the Mesh does not name: exit 1, saying what the Mesh needs', async () => {
    const dir = `${await tempDir('weft-agent-aws-')}/data`;
    const { code, stderr } = await runWeft(['agent', ...flags(dir), '--control-plane', cp.url], {
      env: { ...AWS_UNSET, ...envOf(otherRole), AWS_REGION: 'us-east-1' },
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(/the control plane refused the AWS IAM proof: .*spec\.attestation\.aws/);
    expect(stderr).toContain(GATEWAY_ID);
    expect(stderr).not.toContain(otherRole.secretAccessKey);
  });

  it('no credentials anywhere: exit 1 with one line saying what it tried and how to fix it', async () => {
    const dir = `${await tempDir('weft-agent-aws-')}/data`;
    const imds = `http://127.0.0.1:${await freePort()}`;
    const { code, stderr, stdout } = await runWeft(['agent', ...flags(dir), '--control-plane', cp.url], {
      env: { ...AWS_UNSET, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds },
    });
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /no AWS credentials for --attestation aws-iam: tried AWS_ACCESS_KEY_ID.*ECS task role.*EC2 instance metadata at http:\/\/127\.0\.0\.1:\d+.*instance profile/,
    );
    expect(stdout).not.toContain('"msg":"ready"');
  });

  it('usage: --help lists the flags; aws-iam without --trust-domain, or an unknown method, is exit 2', async () => {
    const help = await runWeft(['agent', '--help']);
    for (const text of ['--attestation', '--trust-domain', '--aws-region', 'aws-iam', 'AWS_REGION'])
      expect(help.stdout).toContain(text);
    const base = ['agent', '--environment', ENV, '--name', GW, '--control-plane', 'http://127.0.0.1:9'];
    const missing = await runWeft([...base, '--attestation', 'aws-iam']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--attestation aws-iam needs --trust-domain');
    const unknown = await runWeft([...base, '--attestation', 'kerberos']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--attestation must be join-token or aws-iam');
    const both = await runWeft([...base, '--attestation', 'aws-iam', '--trust-domain', TD], {
      env: { WEFT_JOIN_TOKEN: 'x' },
    });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('a join token is given but the attestation is aws-iam');
  });
});
