/**
 * The `spec` schemas of the seven kinds. Stored documents keep exactly what
 * the operator wrote: defaults are documented here and applied by consumers
 * (see `defaults.ts`), so a document read back equals the document written.
 *
 * @module
 */
import * as z from 'zod';
import { attestationRulesSchema } from './attestation-rules.js';
import { DURATION_RANGES, describeRange, durationSchema } from './duration-ranges.js';
import { DNS1123_LABEL, isIdentityPattern, TRUST_DOMAIN } from './names.js';

const MAX_ITEMS = 256;

export const dnsLabel = z
  .string()
  .regex(DNS1123_LABEL, 'must be a DNS-1123 label: lowercase letters, digits and "-", at most 63 characters');

/**
 * An optional duration field, within its range in {@link DURATION_RANGES};
 * its description (the OpenAPI document's) says the range, then `more`.
 */
const duration = (what: keyof typeof DURATION_RANGES, more: string) => {
  const range = DURATION_RANGES[what];
  const text = describeRange(range).replace(/^between (.*) and /, '$1 to ');
  return durationSchema(what, range)
    .optional()
    .describe(`${text[0]!.toUpperCase()}${text.slice(1)}. ${more}`);
};

/** `host:port` where host is a DNS name, IPv4 or bracketed IPv6. */
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([-A-Za-z0-9.]{0,251}[A-Za-z0-9])?):([0-9]{1,5})$/;
export const hostPort = z
  .string()
  .max(260)
  .refine((s) => {
    const m = HOST_PORT.exec(s);
    const port = m ? Number(m[3]) : 0;
    return port >= 1 && port <= 65535;
  }, 'must be host:port with a port from 1 to 65535');

const port = z.int().min(1).max(65535);
const httpMethod = z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE']);
const httpUrl = z
  .string()
  .max(2048)
  .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), 'must be an http(s) URL');
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,256}$/, 'must be an HTTP header name');

export const PROVIDERS = ['aws', 'gcp', 'azure', 'onprem', 'local'] as const;
export type Provider = (typeof PROVIDERS)[number];

export const meshSpec = z.strictObject({
  trustDomain: z.string().regex(TRUST_DOMAIN, 'must be a SPIFFE trust domain such as acme.test'),
  meshDomain: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'must be a DNS name')
    .optional()
    .describe('DNS suffix workloads call services under. Default: weft.internal'),
  defaultAction: z.enum(['deny', 'allow']).optional().describe('Default: deny'),
  mtls: z
    .strictObject({ mode: z.literal('strict').describe('Only strict mTLS (TLS 1.3) is offered.') })
    .optional(),
  credentials: z
    .strictObject({
      x509SvidTtl: duration('x509SvidTtl', 'Default: 1h'),
      jwtSvidTtl: duration('jwtSvidTtl', 'Default: 5m'),
    })
    .optional(),
  identity: z
    .strictObject({
      allowSourceAddress: z
        .boolean()
        .optional()
        .describe(
          'Let workloads without a JWT-SVID be identified by their registered address. Default: false',
        ),
    })
    .optional(),
  operatorAuth: z
    .strictObject({
      issuer: z.string().min(1).max(2048),
      jwksUri: httpUrl.optional(),
      audience: z.string().min(1).max(256).optional(),
      roleClaim: z.string().min(1).max(128).optional().describe('Default: role'),
    })
    .optional()
    .describe('The OIDC issuer whose tokens operators bring.'),
  attestation: attestationRulesSchema
    .optional()
    .describe(
      'How agents prove where they run, and which SPIFFE ID each proof earns. Absent: nobody attests.',
    ),
});

export const environmentSpec = z.strictObject({
  provider: z.enum(PROVIDERS),
  region: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,62})$/, 'must be a region name such as us-east-1'),
  zone: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,62})$/)
    .optional(),
  priority: z.int().min(0).max(1000).optional().describe('Lower is preferred in failover. Default: 100'),
});

export const gatewaySpec = z.strictObject({
  environment: dnsLabel,
  address: hostPort.describe('The public mTLS (ingress) address other gateways dial.'),
  egressAddress: hostPort.optional().describe('Where local workloads send their calls.'),
  webhook: httpUrl.optional().describe('Where the control plane notifies the agent of a new snapshot.'),
});

export const serviceSpec = z.strictObject({
  protocol: z.enum(['http', 'http2', 'grpc', 'tcp']).optional().describe('Default: http'),
  ports: z
    .array(z.strictObject({ name: dnsLabel.optional(), port, targetPort: port.optional() }))
    .min(1)
    .max(64),
  endpoints: z
    .array(
      z.strictObject({
        environment: dnsLabel,
        address: hostPort,
        weight: z.int().min(0).max(1000).optional(),
      }),
    )
    .max(MAX_ITEMS)
    .optional(),
});

export const workloadSpec = z.strictObject({
  service: dnsLabel,
  environment: dnsLabel,
  address: hostPort,
  weight: z.int().min(0).max(1000).optional().describe('Default: 1'),
  sourceAddresses: z
    .array(z.string().regex(/^[0-9a-fA-F:.]{2,45}$/, 'must be an IP address'))
    .max(64)
    .optional()
    .describe('Addresses this workload calls from, for identity by source address.'),
});

const headerMatch = z.strictObject({
  name: headerName,
  type: z.enum(['Exact', 'Prefix', 'Present']).optional().describe('Default: Exact'),
  value: z.string().max(4096).optional(),
});

export const accessPolicySpec = z.strictObject({
  service: dnsLabel,
  action: z.enum(['allow', 'deny']),
  rules: z
    .array(
      z.strictObject({
        from: z
          .array(
            z
              .string()
              .max(2048)
              .refine(isIdentityPattern, 'must be a SPIFFE ID, a SPIFFE ID prefix ending in /*, or *'),
          )
          .min(1)
          .max(MAX_ITEMS),
        methods: z.array(httpMethod).max(16).optional(),
        paths: z
          .array(
            z.string().regex(/^\/[^\s]{0,2047}$/, 'must be a path starting with /, optionally ending in *'),
          )
          .max(MAX_ITEMS)
          .optional(),
        headers: z.array(headerMatch).max(32).optional(),
      }),
    )
    .min(1)
    .max(MAX_ITEMS),
});

const routeMatch = z.strictObject({
  path: z
    .strictObject({
      type: z.enum(['Exact', 'PathPrefix']).optional().describe('Default: PathPrefix'),
      value: z.string().regex(/^\/[^\s]{0,2047}$/, 'must start with /'),
    })
    .optional(),
  method: httpMethod.optional(),
  headers: z.array(headerMatch).max(32).optional(),
});

export const routeSpec = z.strictObject({
  service: dnsLabel,
  rules: z
    .array(
      z.strictObject({
        matches: z.array(routeMatch).max(64).optional(),
        backends: z
          .array(z.strictObject({ environment: dnsLabel, weight: z.int().min(0).max(1_000_000).optional() }))
          .min(1)
          .max(64),
        timeout: duration('timeout', 'The whole-call budget, retries included. Default: 15s'),
        retries: z
          .strictObject({
            attempts: z.int().min(0).max(10),
            perTryTimeout: duration(
              'perTryTimeout',
              "At most the rule's timeout. Default: the rule's timeout",
            ),
            retryOn: z
              .array(z.enum(['connect-failure', 'reset', '5xx']))
              .max(3)
              .optional(),
          })
          .optional(),
        failover: z
          .array(dnsLabel)
          .max(64)
          .optional()
          .describe('Environments to try, in order, when backends fail.'),
      }),
    )
    .min(1)
    .max(MAX_ITEMS),
  outlierDetection: z
    .strictObject({
      consecutiveErrors: z.int().min(1).max(1000).optional().describe('Default: 5'),
      baseEjectionTime: duration('baseEjectionTime', 'Default: 30s'),
      maxEjectionPercent: z.int().min(0).max(100).optional().describe('Default: 100'),
    })
    .optional(),
});

/** The spec schema of each kind. */
export const SPEC_SCHEMAS = {
  Mesh: meshSpec,
  Environment: environmentSpec,
  Gateway: gatewaySpec,
  Service: serviceSpec,
  Workload: workloadSpec,
  AccessPolicy: accessPolicySpec,
  Route: routeSpec,
} as const;

export type MeshSpec = z.infer<typeof meshSpec>;
export type EnvironmentSpec = z.infer<typeof environmentSpec>;
export type GatewaySpec = z.infer<typeof gatewaySpec>;
export type ServiceSpec = z.infer<typeof serviceSpec>;
export type WorkloadSpec = z.infer<typeof workloadSpec>;
export type AccessPolicySpec = z.infer<typeof accessPolicySpec>;
export type RouteSpec = z.infer<typeof routeSpec>;
