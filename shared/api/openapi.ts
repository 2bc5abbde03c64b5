/**
 * The OpenAPI 3.1 document, generated from the very zod schemas that validate
 * requests, so the contract cannot drift from the code.
 *
 * @module
 */
import * as z from 'zod';
import { API_VERSION, KIND_INFO, KINDS, type Kind } from '../model/kinds.js';
import { metadataSchema, statusSchema } from '../model/resource.js';
import { SPEC_SCHEMAS } from '../model/specs.js';
import { distributionOpenApi } from './openapi-distribution.js';
import { identityOpenApi } from './openapi-identity.js';
import { jsonSchema, problem, ref } from './openapi-parts.js';
import { registrationOpenApi } from './openapi-registration.js';

const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  detail: z.string(),
  instance: z.string().optional(),
  code: z.string().describe('Stable weft error code, e.g. ERR_VALIDATION'),
  field: z.string().optional().describe('JSON pointer of the first offending field'),
  errors: z.array(z.object({ pointer: z.string(), detail: z.string() })).optional(),
});

function documentSchema(kind: Kind) {
  return z.strictObject({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(kind),
    metadata: metadataSchema,
    spec: SPEC_SCHEMAS[kind],
    status: statusSchema.optional().describe('Written by weft; ignored on input.'),
  });
}

const body = (schema: object) => ({
  required: true,
  content: { 'application/json': { schema }, 'application/yaml': { schema } },
});

let cached: object | undefined;

/** Builds (once) the OpenAPI 3.1 document of the API. */
export function openApiDocument(): object {
  if (cached) return cached;
  const schemas: Record<string, object> = { Problem: jsonSchema(problemSchema) };
  const paths: Record<string, object> = {};
  const errors = {
    '401': problem('No or bad operator token'),
    '403': problem('The operator may not do this'),
    '422': problem('The document is invalid; `errors` names each field'),
  };
  for (const kind of KINDS) {
    schemas[kind] = jsonSchema(documentSchema(kind));
    const { plural, namespaced } = KIND_INFO[kind];
    const item = namespaced ? `/v1/${plural}/{namespace}/{name}` : `/v1/${plural}/{name}`;
    const params = (namespaced ? ['namespace', 'name'] : ['name']).map((name) => ({
      name,
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const ok = (description: string) => ({
      description,
      headers: { ETag: { schema: { type: 'string' } } },
      content: { 'application/json': { schema: ref(kind) } },
    });
    paths[`/v1/${plural}`] = {
      get: {
        operationId: `list${kind}`,
        summary: `List ${kind} resources`,
        parameters: [{ name: 'labelSelector', in: 'query', schema: { type: 'string' } }],
        responses: {
          '200': { description: 'The list', content: { 'application/json': { schema: listOf(kind) } } },
          ...errors,
        },
      },
    };
    paths[item] = {
      parameters: params,
      get: {
        operationId: `get${kind}`,
        responses: {
          '200': ok('The resource'),
          '304': { description: 'Not modified' },
          '404': problem('Absent'),
          ...errors,
        },
      },
      put: {
        operationId: `put${kind}`,
        parameters: [{ name: 'If-Match', in: 'header', schema: { type: 'string' } }],
        requestBody: body(ref(kind)),
        responses: {
          '200': ok('Updated or unchanged'),
          '201': ok('Created'),
          '412': problem('If-Match did not match'),
          '413': problem('Body over 1 MiB'),
          ...errors,
        },
      },
      delete: {
        operationId: `delete${kind}`,
        parameters: [{ name: 'If-Match', in: 'header', schema: { type: 'string' } }],
        responses: {
          '200': { description: 'Deleted (a tombstone is kept)' },
          '404': problem('Absent'),
          '412': problem('If-Match did not match'),
          ...errors,
        },
      },
    };
  }
  paths['/v1/apply'] = {
    post: {
      operationId: 'apply',
      summary: 'Validate many documents, then write them all (or, with dryRun=true, none)',
      parameters: [{ name: 'dryRun', in: 'query', schema: { type: 'boolean' } }],
      requestBody: body({ type: 'array', items: { oneOf: KINDS.map(ref) } }),
      responses: { '200': { description: 'One result per document, in order' }, ...errors },
    },
  };
  const identity = identityOpenApi();
  Object.assign(paths, identity.paths);
  Object.assign(schemas, identity.schemas);
  const distribution = distributionOpenApi();
  Object.assign(paths, distribution.paths);
  Object.assign(schemas, distribution.schemas);
  const registration = registrationOpenApi();
  Object.assign(paths, registration.paths);
  Object.assign(schemas, registration.schemas);
  paths['/healthz'] = {
    get: { operationId: 'health', security: [], responses: { '200': { description: 'Alive' } } },
  };
  paths['/v1/openapi.json'] = {
    get: { operationId: 'openapi', security: [], responses: { '200': { description: 'This document' } } },
  };
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'weft API',
      version: '1',
      description: 'Declare the mesh: who may call whom, and how traffic is routed.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        ...distribution.securitySchemes,
      },
    },
  };
  return cached;
}

function listOf(kind: Kind) {
  return {
    type: 'object',
    properties: {
      apiVersion: { const: API_VERSION },
      kind: { const: `${kind}List` },
      items: { type: 'array', items: ref(kind) },
    },
  };
}
