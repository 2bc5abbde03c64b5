/**
 * Stand-ins for the AWS endpoints an agent on EC2 or ECS talks to, for
 * `aws_iam` attestation tests: the EC2 instance metadata service (IMDSv2
 * only: a session token from `PUT /latest/api/token`, then the role's
 * credentials), the ECS task credentials endpoint, both real HTTP servers on
 * loopback; and STS, which cannot run here, as a `fetch` that answers
 * `GetCallerIdentity` for the attestor after checking the SigV4 signature
 * with the secret it knows, as STS does.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { startHttpServer, type TestServer } from '../../../support/http.js';
import { GET_CALLER_IDENTITY_BODY, verifySigV4 } from '../../../support/sigv4.js';

/** Credentials an endpoint hands out, and the assumed-role ARN STS names for them. */
export interface FakeRole {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  /** `arn:aws:sts::<account>:assumed-role/<role>/<session>` */
  readonly arn: string;
}

export const ACCOUNT = '111122223333';

/** A role's temporary credentials; `name` is the IAM role, `session` the instance or task. */
export function fakeRole(name: string, session: string, key: string): FakeRole {
  return {
    accessKeyId: `ASIA${key.toUpperCase().padEnd(16, '0')}`,
    secretAccessKey: `secret-of-${name}-${randomUUID()}`,
    sessionToken: `session-token-of-${name}-${randomUUID()}`,
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${name}/${session}`,
  };
}

const credentialsJson = (role: FakeRole) =>
  JSON.stringify({
    Code: 'Success',
    Type: 'AWS-HMAC',
    AccessKeyId: role.accessKeyId,
    SecretAccessKey: role.secretAccessKey,
    Token: role.sessionToken,
    Expiration: new Date(Date.now() + 6 * 3600_000).toISOString(),
    RoleArn: role.arn.replace(':sts::', ':iam::').replace(/assumed-role\/([^/]+)\/.*/, 'role/$1'),
  });

/**
 * IMDSv2: `GET`s without the session token from `PUT /latest/api/token`
 * (which needs the TTL header) get 401, as with `HttpTokens: required`.
 * With no `role`, the instance has no instance profile (404).
 */
export function startFakeImds(options: { role?: FakeRole; region?: string }): Promise<TestServer> {
  const tokens = new Set<string>();
  const roleName = options.role?.arn.split('/')[1];
  return startHttpServer((req, _body, res) => {
    const send = (status: number, body = '') => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(body);
    };
    if (req.url === '/latest/api/token') {
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (req.method !== 'PUT' || !(ttl >= 1 && ttl <= 21_600)) return send(400);
      const token = randomUUID();
      tokens.add(token);
      return send(200, token);
    }
    if (req.method !== 'GET' || !tokens.has(String(req.headers['x-aws-ec2-metadata-token'])))
      return send(401);
    const prefix = '/latest/meta-data/iam/security-credentials/';
    if (req.url === prefix && roleName) return send(200, `${roleName}\n`);
    if (req.url === `${prefix}${roleName}` && options.role) return send(200, credentialsJson(options.role));
    if (req.url === '/latest/meta-data/placement/region' && options.region) return send(200, options.region);
    return send(404);
  });
}

/** The ECS credentials endpoint: the role at `path`, only with `authorization` when one is given. */
export function startFakeEcsCredentials(options: {
  role: FakeRole;
  path: string;
  authorization?: string;
}): Promise<TestServer> {
  return startHttpServer((req, _body, res) => {
    const authorized = !options.authorization || req.headers.authorization === options.authorization;
    if (req.method !== 'GET' || req.url !== options.path || !authorized) {
      res.writeHead(authorized ? 404 : 403);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(credentialsJson(options.role));
  });
}

/** What the fake STS was asked. */
export interface StsCall {
  readonly host: string;
  readonly headers: Record<string, string>;
  readonly accepted: boolean;
}

/**
 * A `fetch` for the attestor: requests to an STS host are answered here
 * (GetCallerIdentity for the role whose secret verifies the signature, else
 * 403 SignatureDoesNotMatch, as STS); everything else goes to `next`.
 */
export function fakeStsFetch(
  roles: readonly FakeRole[],
  next: typeof fetch,
): { fetch: typeof fetch; calls: StsCall[] } {
  const calls: StsCall[] = [];
  const fakeFetch: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (!/^sts(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$/.test(url.hostname)) return next(input, init);
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const body = String(init?.body ?? '');
    const keyId = verifySigV4(
      { method: init?.method ?? 'GET', host: url.host, headers, body },
      (id) => roles.find((r) => r.accessKeyId === id)?.secretAccessKey,
    );
    const role = roles.find((r) => r.accessKeyId === keyId);
    const accepted = Boolean(
      role && body === GET_CALLER_IDENTITY_BODY && headers['x-amz-security-token'] === role.sessionToken,
    );
    calls.push({ host: url.host, headers, accepted });
    if (!accepted || !role)
      return new Response(
        '<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code></Error></ErrorResponse>',
        { status: 403, headers: { 'content-type': 'text/xml' } },
      );
    return new Response(
      `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>${role.arn}</Arn><UserId>AROAEXAMPLE:${role.arn.split('/')[2]}</UserId><Account>${ACCOUNT}</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`,
      { status: 200, headers: { 'content-type': 'text/xml' } },
    );
  };
  return { fetch: fakeFetch, calls };
}
