/**
 * Reads request bodies: JSON or YAML (multi-document for apply), with the
 * size limit enforced before any parsing.
 *
 * @module
 */
import { type CST, Parser, parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { MAX_IDENTITY_BODY_BYTES } from '../identity/identity-requests.js';
import {
  MalformedError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../model/errors.js';
import { toFieldIssues } from '../model/resource.js';
import { MAX_APPLY_DOCUMENTS, MAX_BODY_BYTES } from './types.js';

export type BodyFormat = 'json' | 'yaml';

const YAML_TYPES = new Set(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml']);
const JSON_TYPES = new Set(['application/json', 'application/merge-patch+json']);

/** Picks the parser from `Content-Type`; no header means JSON. */
export function bodyFormat(contentType: string | undefined): BodyFormat {
  const type = (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  if (JSON_TYPES.has(type) || type.endsWith('+json')) return 'json';
  if (YAML_TYPES.has(type)) return 'yaml';
  throw new UnsupportedMediaTypeError(
    `Content-Type ${type} is not accepted: send application/json or application/yaml`,
  );
}

/** The one refusal of a body over `MAX_BODY_BYTES`, however it arrived. */
export function bodyTooLarge(): PayloadTooLargeError {
  return new PayloadTooLargeError(`the body is over ${MAX_BODY_BYTES} bytes; split it into several requests`);
}

export function checkSize(body: string | undefined): void {
  if (body !== undefined && Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES) throw bodyTooLarge();
}

/**
 * Reads a request body from a host's stream, refusing it (without
 * buffering the rest) past `MAX_BODY_BYTES`, declared or sent: the one
 * size-capped reader every host that streams a body uses.
 *
 * @param prefix bytes the host already read (a framework's raw body), if any.
 * @returns the body as UTF-8, or `undefined` when it is empty.
 * @throws PayloadTooLargeError past the limit.
 */
export async function readCappedBody(
  stream: AsyncIterable<Uint8Array> | undefined,
  contentLength: string | undefined,
  prefix?: Uint8Array,
): Promise<string | undefined> {
  if (Number(contentLength ?? 0) > MAX_BODY_BYTES) throw bodyTooLarge();
  const chunks: Uint8Array[] = prefix ? [prefix] : [];
  let size = prefix?.length ?? 0;
  if (size > MAX_BODY_BYTES) throw bodyTooLarge();
  if (stream && !prefix) {
    for await (const chunk of stream) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) throw bodyTooLarge();
      chunks.push(chunk);
    }
  }
  return size > 0 ? Buffer.concat(chunks).toString('utf8') : undefined;
}

/** Parses one document. */
export function parseOne(body: string | undefined, format: BodyFormat): unknown {
  const docs = parseMany(body, format);
  if (docs.length !== 1) throw new MalformedError(`expected one document, got ${docs.length}`);
  return docs[0];
}

/**
 * Parses one or more documents: multi-document YAML, or JSON that is one
 * document, an array of them, or a `{"items": [...]}` list.
 */
export function parseMany(body: string | undefined, format: BodyFormat): unknown[] {
  checkSize(body);
  if (body === undefined || body.trim() === '')
    throw new MalformedError('the request has no body; send a document');
  let docs: unknown[];
  if (format === 'json') {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch (error) {
      throw new MalformedError(`the body is not valid JSON: ${(error as Error).message}`, { cause: error });
    }
    docs = Array.isArray(value) ? value : isList(value) ? value.items : [value];
  } else {
    docs = parseYaml(body);
  }
  if (docs.length > MAX_APPLY_DOCUMENTS) {
    throw new PayloadTooLargeError(
      `${docs.length} documents is over the limit of ${MAX_APPLY_DOCUMENTS}; split them`,
    );
  }
  return docs;
}

/**
 * Deeper than any weft document needs. The YAML composer recurses once per
 * level, and a few thousand `[` overflow the stack, which in V8 can abort
 * the whole process (a fatal OOM in the RegExp compiler), not just throw.
 */
const MAX_YAML_DEPTH = 64;

function parseYaml(body: string): unknown[] {
  checkYamlDepth(body);
  // Aliases are capped so a "billion laughs" document cannot blow up memory.
  const parsed = parseAllDocuments(body, { uniqueKeys: true });
  const list = Array.isArray(parsed) ? parsed : [parsed];
  const docs: unknown[] = [];
  for (const doc of list) {
    const error = doc.errors[0];
    if (error)
      throw new MalformedError(`the body is not valid YAML: ${error.message.split('\n')[0]}`, {
        cause: error,
      });
    if (doc.contents === null) continue; // an empty document between two `---`
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (cause) {
      throw new MalformedError(`the body is not valid YAML: ${(cause as Error).message}`, { cause });
    }
    docs.push(...(isList(value) ? value.items : [value]));
  }
  return docs;
}

/** Walks the CST (the parser keeps its own stack, so it is safe at any depth) without recursing. */
function checkYamlDepth(body: string): void {
  const pending: [CST.Token | null | undefined, number][] = [...new Parser().parse(body)].map((t) => [t, 0]);
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [token, depth] = next;
    if (depth > MAX_YAML_DEPTH) {
      throw new MalformedError(`the body nests deeper than ${MAX_YAML_DEPTH} levels; no weft document does`);
    }
    if (token?.type === 'document') pending.push([token.value, depth]);
    if (token?.type === 'block-map' || token?.type === 'block-seq' || token?.type === 'flow-collection') {
      for (const item of token.items) pending.push([item.key, depth + 1], [item.value, depth + 1]);
    }
  }
}

function isList(value: unknown): value is { items: unknown[] } {
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { items?: unknown }).items))
    return false;
  const kind = (value as { kind?: unknown }).kind;
  return kind === undefined || (typeof kind === 'string' && kind.endsWith('List'));
}

/**
 * Parses an identity request body against `schema`.
 *
 * @throws PayloadTooLargeError past 64 KiB; UnsupportedMediaTypeError for
 *   anything but JSON; MalformedError for no or unparseable JSON;
 *   ValidationError naming each bad field.
 */
export function readIdentityBody<T extends z.ZodType>(
  body: string | undefined,
  contentType: string | undefined,
  schema: T,
): z.infer<T> {
  if (body !== undefined && Buffer.byteLength(body, 'utf8') > MAX_IDENTITY_BODY_BYTES) {
    throw new PayloadTooLargeError(`identity requests are at most ${MAX_IDENTITY_BODY_BYTES} bytes`);
  }
  if (bodyFormat(contentType) !== 'json')
    throw new UnsupportedMediaTypeError('identity requests are JSON only: send application/json');
  if (body === undefined || body.trim() === '')
    throw new MalformedError('the request has no body; send JSON');
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw new MalformedError(`the body is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = toFieldIssues(parsed.error);
  throw new ValidationError(`${issues[0]?.pointer || 'body'}: ${issues[0]?.detail ?? 'invalid'}`, issues);
}
