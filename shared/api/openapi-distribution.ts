/**
 * The config distribution endpoints in the OpenAPI document: the status
 * body from the zod schema that parses it, the rest described by hand.
 *
 * @module
 */
import * as z from 'zod';
import { statusReportSchema } from '../distribution/gateway-status.js';
import { jsonSchema, problem, ref } from './openapi-parts.js';

const param = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
});

const schemas = {
  GatewayStatusReport: statusReportSchema,
  GatewayStatus: statusReportSchema.extend({
    gateway: z.string().describe('The SPIFFE ID the report was authenticated as'),
    reportedAt: z.string().describe('RFC 3339'),
  }),
  Convergence: z.object({
    version: z.string(),
    compiled: z.boolean().describe('The compile watermark has reached the version'),
    compiledVersion: z.string().optional(),
    targeted: z.int().describe('Gateways whose current snapshot is at the version or later'),
    applied: z.int().describe('Those that reported applying it (or later)'),
    lagging: z.array(z.object({ gateway: z.string(), appliedVersion: z.string().optional() })),
  }),
};

/** Gateway endpoints take the gateway's JWT-SVID, not an operator token. */
const gatewaySecurity = [{ gatewaySvid: [] }];
const gatewayErrors = {
  '401': problem('No JWT-SVID, or one that is expired, untrusted, or not for spiffe://<td>/control-plane'),
  '403': problem("The JWT-SVID is another gateway's (or not a gateway's)"),
  '409': problem('There is no Mesh, so no trust domain to check the JWT-SVID against'),
};
const gateway = [param('environment', 'The Environment'), param('name', 'The Gateway')];

/** Paths, component schemas and the security scheme of the distribution endpoints. */
export function distributionOpenApi() {
  return {
    schemas: Object.fromEntries(Object.entries(schemas).map(([name, s]) => [name, jsonSchema(s)])),
    securitySchemes: {
      gatewaySvid: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT-SVID',
        description: "The gateway's JWT-SVID, aud spiffe://<td>/control-plane (POST /v1/svid/jwt)",
      },
    },
    paths: {
      '/v1/gateways/{environment}/{name}/snapshot': {
        parameters: gateway,
        get: {
          operationId: 'getGatewaySnapshot',
          summary:
            "The gateway's signed snapshot: a small signed manifest (compact JWS, typ weft-snapshot+jws) naming the content's SHA-256, a newline, then the canonical snapshot JSON",
          security: gatewaySecurity,
          parameters: [{ name: 'If-None-Match', in: 'header', schema: { type: 'string' } }],
          responses: {
            '200': {
              description: 'The manifest JWS, a newline, and the content it names',
              headers: {
                ETag: { schema: { type: 'string' }, description: 'The snapshot hash, quoted' },
                'X-Weft-Version': { schema: { type: 'string' }, description: 'The snapshot version' },
              },
              content: { 'application/vnd.weft.signed-manifest': { schema: { type: 'string' } } },
            },
            '304': { description: 'The snapshot is the one named in If-None-Match' },
            '404': problem('No snapshot compiled for this gateway yet'),
            ...gatewayErrors,
          },
        },
      },
      '/v1/gateways/{environment}/{name}/status': {
        parameters: gateway,
        post: {
          operationId: 'reportGatewayStatus',
          summary: 'The agent reports what it applied',
          security: gatewaySecurity,
          requestBody: {
            required: true,
            content: { 'application/json': { schema: ref('GatewayStatusReport') } },
          },
          responses: {
            '204': { description: 'Stored' },
            '413': problem('Body over 8 KiB'),
            '422': problem('A field is wrong; `field` names it'),
            ...gatewayErrors,
          },
        },
        get: {
          operationId: 'getGatewayStatus',
          summary: "The gateway's last report (operators)",
          responses: {
            '200': {
              description: 'The report',
              content: { 'application/json': { schema: ref('GatewayStatus') } },
            },
            '401': problem('No or bad operator token'),
            '404': problem('It never reported'),
          },
        },
      },
      '/v1/changes/{version}/convergence': {
        parameters: [param('version', 'The version a write returned')],
        get: {
          operationId: 'getConvergence',
          summary: 'How far a change has reached: compiled, targeted, applied',
          responses: {
            '200': {
              description: 'The counts',
              content: { 'application/json': { schema: ref('Convergence') } },
            },
            '401': problem('No or bad operator token'),
            '422': problem('Not a version'),
          },
        },
      },
    },
  };
}
