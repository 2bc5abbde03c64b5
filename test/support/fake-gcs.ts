/**
 * A stand-in for Cloud Storage's JSON API, as far as `GcsBlobStore` (through
 * @google-cloud/storage 7) calls it: an HTTP server on loopback (nothing of
 * GCS runs here) that the SDK reaches through `new Storage({ apiEndpoint })`.
 * A custom endpoint makes the SDK skip authentication, so no credentials and
 * no metadata server are involved.
 *
 * - `POST /upload/storage/v1/b/{b}/o?uploadType=multipart|media&name=`:
 *   single-request uploads (`multipart/related`: JSON metadata, then the
 *   bytes). A resumable upload is refused (400), so a test sees it if the
 *   SDK starts one;
 * - `GET /storage/v1/b/{b}/o/{o}?alt=media`: the bytes, with GCS's
 *   `x-goog-generation`, `x-goog-hash` (crc32c, md5) and
 *   `x-goog-stored-content-encoding` headers; without `alt=media`, the
 *   object resource (`storage#object`);
 * - `DELETE /storage/v1/b/{b}/o/{o}`: 204;
 * - `GET /storage/v1/b/{b}/o?prefix=&maxResults=&pageToken=`: names in
 *   UTF-8 byte order, `nextPageToken` while more remain;
 * - `ifGenerationMatch` on all of them (`0`: no live object), 412
 *   `conditionNotMet` when it does not hold; every write a new, larger
 *   generation; 404 `No such object` / `The specified bucket does not exist.`
 *   as GCS words them; `failNext(status)` answers the next request with that
 *   error.
 *
 * Checksums come from the SDK's own CRC32C, as GCS's must agree with it.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CRC32C } from '@google-cloud/storage';

interface StoredObject {
  readonly data: Buffer;
  readonly generation: string;
  readonly contentType: string;
  readonly updated: string;
}

export interface FakeGcs {
  /** What `new Storage({ apiEndpoint })` takes: `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** Every request's method, path and query, in order. */
  readonly requests: string[];
  createBucket(name: string): void;
  /** The stored bytes and generation of an object, as GCS holds them. */
  object(bucket: string, name: string): { body: string; generation: string; contentType: string } | undefined;
  /** Answers the next request with `status` and Google's error body. */
  failNext(status: number): void;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startFakeGcs(): Promise<FakeGcs> {
  const buckets = new Map<string, Map<string, StoredObject>>();
  const requests: string[] = [];
  let lastGeneration = 0;
  let failures: number[] = [];

  const nextGeneration = () => {
    // Like GCS's: microseconds since the epoch, strictly increasing.
    lastGeneration = Math.max(lastGeneration + 1, Date.now() * 1000);
    return String(lastGeneration);
  };
  const bucketOf = (name: string) => {
    const bucket = buckets.get(name);
    if (!bucket) throw new HttpError(404, 'notFound', 'The specified bucket does not exist.');
    return bucket;
  };
  /** `ifGenerationMatch`, as GCS reads it: `0` means no live object. */
  const checkPrecondition = (query: URLSearchParams, current: StoredObject | undefined) => {
    const match = query.get('ifGenerationMatch');
    if (match === null) return;
    if (!/^[0-9]+$/.test(match)) throw new HttpError(400, 'invalid', `Invalid argument ifGenerationMatch`);
    if (match === '0' ? current === undefined : current?.generation === match) return;
    throw new HttpError(
      412,
      'conditionNotMet',
      'At least one of the pre-conditions you specified did not hold.',
    );
  };

  const handle = (req: IncomingMessage, body: Buffer, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = url.searchParams;
    const failure = failures.shift();
    if (failure !== undefined) throw new HttpError(failure, 'backendError', `fake failure ${failure}`);

    const upload = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
    if (upload && req.method === 'POST') {
      const bucket = bucketOf(decodeURIComponent(upload[1]!));
      const uploadType = query.get('uploadType');
      let metadata: { name?: string; contentType?: string } = {};
      let data = body;
      if (uploadType === 'multipart') {
        [metadata, data] = parseMultipart(req.headers['content-type'] ?? '', body);
      } else if (uploadType !== 'media') {
        throw new HttpError(400, 'invalid', `fake GCS: uploadType ${uploadType} is not implemented`);
      }
      const name = query.get('name') ?? metadata.name;
      if (!name) throw new HttpError(400, 'required', 'Required: name');
      checkPrecondition(query, bucket.get(name));
      const stored: StoredObject = {
        data,
        generation: nextGeneration(),
        contentType: metadata.contentType ?? req.headers['content-type'] ?? 'application/octet-stream',
        updated: new Date().toISOString(),
      };
      bucket.set(name, stored);
      return json(res, 200, resource(upload[1]!, name, stored));
    }

    const list = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
    if (list && req.method === 'GET') {
      const bucket = bucketOf(decodeURIComponent(list[1]!));
      const prefix = query.get('prefix') ?? '';
      const max = Math.min(Number(query.get('maxResults') ?? 1000), 1000);
      const after = query.has('pageToken') ? Buffer.from(query.get('pageToken')!, 'base64url') : undefined;
      const names = [...bucket.keys()]
        .filter((name) => name.startsWith(prefix))
        .map((name) => Buffer.from(name))
        .sort(Buffer.compare)
        .filter((name) => after === undefined || Buffer.compare(name, after) > 0);
      const page = names.slice(0, max);
      return json(res, 200, {
        kind: 'storage#objects',
        ...(page.length > 0 && {
          items: page.map((n) => resource(list[1]!, n.toString(), bucket.get(n.toString())!)),
        }),
        ...(names.length > max && { nextPageToken: page.at(-1)!.toString('base64url') }),
      });
    }

    const object = /^\/storage\/v1\/b\/([^/]+)\/o\/([^/]+)$/.exec(url.pathname);
    if (object) {
      const bucket = bucketOf(decodeURIComponent(object[1]!));
      const name = decodeURIComponent(object[2]!);
      const current = bucket.get(name);
      if (!current) throw new HttpError(404, 'notFound', `No such object: ${object[1]}/${name}`);
      checkPrecondition(query, current);
      if (req.method === 'DELETE') {
        bucket.delete(name);
        res.writeHead(204).end();
        return;
      }
      if (req.method !== 'GET') throw new HttpError(405, 'methodNotAllowed', `fake GCS: ${req.method}`);
      if (query.get('alt') !== 'media') return json(res, 200, resource(object[1]!, name, current));
      res.writeHead(200, {
        'content-type': current.contentType,
        'content-length': current.data.length,
        'x-goog-generation': current.generation,
        'x-goog-metageneration': '1',
        'x-goog-hash': `crc32c=${crc32c(current.data)},md5=${md5(current.data)}`,
        'x-goog-stored-content-encoding': 'identity',
        'x-goog-stored-content-length': current.data.length,
        etag: etag(current),
      });
      res.end(current.data);
      return;
    }
    throw new HttpError(404, 'notFound', `fake GCS: no route ${req.method} ${url.pathname}`);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push(`${req.method} ${req.url}`);
      try {
        handle(req, Buffer.concat(chunks), res);
      } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        json(res, error.status, {
          error: {
            code: error.status,
            message: error.message,
            errors: [{ message: error.message, domain: 'global', reason: error.reason }],
          },
        });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    createBucket: (name) => {
      if (!buckets.has(name)) buckets.set(name, new Map());
    },
    object: (bucket, name) => {
      const stored = buckets.get(bucket)?.get(name);
      return (
        stored && {
          body: stored.data.toString('utf-8'),
          generation: stored.generation,
          contentType: stored.contentType,
        }
      );
    },
    failNext: (status) => {
      failures = [...failures, status];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The `storage#object` resource, as far as a reader could look at it. */
function resource(bucket: string, name: string, stored: StoredObject): Record<string, unknown> {
  return {
    kind: 'storage#object',
    id: `${bucket}/${name}/${stored.generation}`,
    name,
    bucket,
    generation: stored.generation,
    metageneration: '1',
    contentType: stored.contentType,
    size: String(stored.data.length),
    md5Hash: md5(stored.data),
    crc32c: crc32c(stored.data),
    etag: etag(stored),
    storageClass: 'STANDARD',
    timeCreated: stored.updated,
    updated: stored.updated,
  };
}

/** `multipart/related`: a JSON part (the object's metadata), then the bytes. */
function parseMultipart(
  contentType: string,
  body: Buffer,
): [{ name?: string; contentType?: string }, Buffer] {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!/^multipart\/related/.test(contentType) || !boundary)
    throw new HttpError(400, 'invalid', 'fake GCS: a multipart upload must be multipart/related');
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let at = body.indexOf(delimiter);
  while (at !== -1) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, start);
    if (next === -1) break;
    parts.push(body.subarray(start, next));
    at = next;
  }
  const [meta, media] = parts.map((part) => {
    const headerEnd = part.indexOf('\r\n\r\n');
    // Each part is CRLF, headers, CRLF CRLF, content, CRLF (before the next delimiter).
    return part.subarray(headerEnd + 4, part.length - 2);
  });
  if (!meta || !media) throw new HttpError(400, 'invalid', 'fake GCS: expected two parts (metadata, media)');
  return [JSON.parse(meta.toString('utf-8')), Buffer.from(media)];
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(JSON.stringify(body));
}

function crc32c(data: Buffer): string {
  const crc = new CRC32C();
  crc.update(data);
  return crc.toString();
}

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

function etag(stored: StoredObject): string {
  return Buffer.from(stored.generation).toString('base64');
}
