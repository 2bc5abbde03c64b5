/**
 * The registration endpoint in the OpenAPI document, its body from the zod
 * schema the status document is read with.
 *
 * @module
 */
import { registrationStatusSchema } from '../registration/registration-status.js';
import { jsonSchema, problem, ref } from './openapi-parts.js';

/** Paths and component schemas of `GET /v1/registration`. */
export function registrationOpenApi() {
  return {
    schemas: {
      RegistrationStatus: jsonSchema(registrationStatusSchema),
    },
    paths: {
      '/v1/registration': {
        get: {
          operationId: 'getRegistration',
          summary:
            'Workloads registered from cloud tags: totals, the last reconcile, recent rejections and conflicts',
          responses: {
            '200': {
              description: 'One status document per provider whose registrar has run',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: { providers: { type: 'array', items: ref('RegistrationStatus') } },
                    required: ['providers'],
                  },
                },
              },
            },
            '401': problem('No or bad operator token'),
            '404': problem('Registration from cloud tags is not enabled on this control plane'),
          },
        },
      },
    },
  };
}
