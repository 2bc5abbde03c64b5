/**
 * The pieces every part of the OpenAPI document is built from: JSON Schema
 * from the zod schema that parses a body, `$ref`s into the components, and
 * the problem+json answer.
 *
 * @module
 */
import * as z from 'zod';

/** JSON Schema 2020-12 of what `schema` accepts as input. */
export const jsonSchema = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });

/** A reference to `#/components/schemas/<name>`. */
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** An error answer: RFC 9457 problem details. */
export const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ref('Problem') } },
});
