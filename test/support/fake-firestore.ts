/**
 * An in-memory Firestore, exactly as wide as the slice of the SDK that
 * `FirestoreStateStore` calls (`functions/gcp/firestore-client.ts`): nothing
 * real can run here (the Firestore emulator needs Java), so tests mock at
 * that narrowest seam. It keeps what the store relies on:
 *
 * - every write gets a new, strictly later `updateTime` (a real `Timestamp`,
 *   microsecond precision like Firestore's commit times);
 * - `create()` fails with `ALREADY_EXISTS` (6), `update()` with `NOT_FOUND`
 *   (5) on a missing document and `FAILED_PRECONDITION` (9) when its
 *   `lastUpdateTime` or `exists` precondition does not hold;
 * - a document over 1 MiB fails with `INVALID_ARGUMENT` (3);
 * - each call yields to the event loop before and after it takes effect, so
 *   concurrent callers interleave between a read and a write, as over a network;
 * - reads hand out copies; queries filter with `where` and sort by `orderBy`,
 *   then by document id, comparing strings by UTF-8 bytes as Firestore does.
 *
 * @module
 */
import { setImmediate as tick } from 'node:timers/promises';
import { type DocumentData, type Precondition, Timestamp, type WhereFilterOp } from '@google-cloud/firestore';

const MAX_DOCUMENT_BYTES = 1_048_576;

/** What the SDK throws: a gRPC status `code` and a message starting with it. */
export class FakeFirestoreError extends Error {
  constructor(
    readonly code: number,
    status: string,
    readonly details: string,
  ) {
    super(`${code} ${status}: ${details}`);
  }
}

interface Stored {
  readonly data: DocumentData;
  readonly updateTime: Timestamp;
}

/** The calls a test can make fail. */
export type FakeCall = 'get' | 'create' | 'set' | 'update' | 'delete' | 'query';

export class FakeFirestore {
  /** Makes calls fail, as Firestore would: `() => FakeFirestore.unavailable()` is the network down. */
  inject: ((call: FakeCall) => FakeFirestoreError | undefined) | undefined;
  private readonly documents = new Map<string, Map<string, Stored>>();
  private lastMicros = 0;

  collection(collectionPath: string): FakeQuery & { doc(id: string): FakeDocument } {
    if (collectionPath.includes('/')) throw new TypeError('fake: only top-level collections');
    const collection = this.documents.get(collectionPath) ?? new Map<string, Stored>();
    this.documents.set(collectionPath, collection);
    return Object.assign(new FakeQuery(this, collection, [], []), {
      doc: (id: string) => new FakeDocument(this, collection, id),
    });
  }

  /** What the SDK throws when it cannot connect. */
  static unavailable(): FakeFirestoreError {
    return new FakeFirestoreError(14, 'UNAVAILABLE', 'No connection established. Last error: ECONNREFUSED');
  }

  /** A round trip: yields so other callers can run, then fails if a test injected a failure. */
  async call(call: FakeCall): Promise<void> {
    await tick();
    const error = this.inject?.(call);
    if (error) throw error;
  }

  /** A commit time strictly after every earlier one. */
  commitTime(): Timestamp {
    this.lastMicros = Math.max(Date.now() * 1000, this.lastMicros + 1);
    return new Timestamp(Math.floor(this.lastMicros / 1e6), (this.lastMicros % 1e6) * 1000);
  }
}

export class FakeDocument {
  constructor(
    private readonly db: FakeFirestore,
    private readonly docs: Map<string, Stored>,
    readonly id: string,
  ) {
    if (!id || id.includes('/') || id === '.' || id === '..' || /^__.*__$/.test(id))
      throw new TypeError(`fake: invalid document id ${JSON.stringify(id)}`);
  }

  async get(): Promise<FakeSnapshot> {
    await this.db.call('get');
    const snapshot = new FakeSnapshot(this.id, this.docs.get(this.id));
    await tick();
    return snapshot;
  }

  async create(data: DocumentData): Promise<{ writeTime: Timestamp }> {
    return this.write('create', data, () => {
      if (this.docs.has(this.id)) throw failure(6, 'ALREADY_EXISTS', `Document already exists: ${this.id}`);
      return data;
    });
  }

  async set(data: DocumentData, options?: unknown): Promise<{ writeTime: Timestamp }> {
    if (options !== undefined) throw new TypeError('fake: set() options are not supported');
    return this.write('set', data, () => data);
  }

  /** Replaces the named top-level fields (dotted field paths are not supported). */
  async update(data: DocumentData, precondition?: Precondition): Promise<{ writeTime: Timestamp }> {
    if (Object.keys(data).some((field) => field.includes('.')))
      throw new TypeError('fake: update() with field paths is not supported');
    return this.write('update', data, (current) => {
      checkPrecondition(this.id, current, precondition ?? { exists: true });
      return { ...current?.data, ...data };
    });
  }

  async delete(precondition?: Precondition): Promise<{ writeTime: Timestamp }> {
    await this.db.call('delete');
    checkPrecondition(this.id, this.docs.get(this.id), precondition ?? {});
    this.docs.delete(this.id);
    const writeTime = this.db.commitTime();
    await tick();
    return { writeTime };
  }

  /** Validates, then checks and applies atomically: nothing else runs between the two. */
  private async write(
    call: FakeCall,
    data: DocumentData,
    check: (current: Stored | undefined) => DocumentData,
  ): Promise<{ writeTime: Timestamp }> {
    checkValue(data, '');
    await this.db.call(call);
    const next = structuredClone(check(this.docs.get(this.id)));
    const size = documentSize(this.id, next);
    if (size > MAX_DOCUMENT_BYTES)
      throw failure(
        3,
        'INVALID_ARGUMENT',
        `Document cannot be written because its size (${size} bytes) exceeds the maximum allowed size of 1,048,576 bytes.`,
      );
    const writeTime = this.db.commitTime();
    this.docs.set(this.id, { data: next, updateTime: writeTime });
    await tick();
    return { writeTime };
  }
}

export class FakeSnapshot {
  readonly exists: boolean;
  readonly updateTime: Timestamp | undefined;
  private readonly stored: DocumentData | undefined;

  constructor(
    readonly id: string,
    stored: Stored | undefined,
  ) {
    this.exists = stored !== undefined;
    this.updateTime = stored?.updateTime;
    this.stored = stored && structuredClone(stored.data);
  }

  data(): DocumentData | undefined {
    return this.stored && structuredClone(this.stored);
  }
}

type Filter = { field: string; op: WhereFilterOp; value: unknown };

export class FakeQuery {
  constructor(
    private readonly db: FakeFirestore,
    private readonly docs: Map<string, Stored>,
    private readonly filters: readonly Filter[],
    private readonly order: readonly string[],
  ) {}

  where(field: string, op: WhereFilterOp, value: string | boolean): FakeQuery {
    if (!['==', '!=', '<', '<=', '>', '>='].includes(op))
      throw new TypeError(`fake: where op ${op} is not supported`);
    return new FakeQuery(this.db, this.docs, [...this.filters, { field, op, value }], this.order);
  }

  orderBy(field: string, direction?: 'asc' | 'desc'): FakeQuery {
    if (direction === 'desc') throw new TypeError('fake: descending order is not supported');
    return new FakeQuery(this.db, this.docs, this.filters, [...this.order, field]);
  }

  async get(): Promise<{ docs: FakeSnapshot[]; size: number; empty: boolean }> {
    await this.db.call('query');
    const docs = [...this.docs]
      // Like Firestore, a document lacking a filtered or ordered field is not in the result.
      .filter(([, d]) => [...this.filters.map((f) => f.field), ...this.order].every((f) => f in d.data))
      .filter(([, d]) => this.filters.every((f) => matches(compare(d.data[f.field], f.value), f.op)))
      .sort(([aId, a], [bId, b]) => {
        for (const f of this.order) {
          const c = compare(a.data[f], b.data[f]);
          if (c !== 0) return c;
        }
        return compare(aId, bId);
      })
      .map(([id, d]) => new FakeSnapshot(id, d));
    await tick();
    return { docs, size: docs.length, empty: docs.length === 0 };
  }
}

function failure(code: number, status: string, details: string): FakeFirestoreError {
  return new FakeFirestoreError(code, status, details);
}

function checkPrecondition(id: string, current: Stored | undefined, precondition: Precondition): void {
  const { exists, lastUpdateTime } = precondition;
  if (lastUpdateTime !== undefined) {
    if (!current?.updateTime.isEqual(lastUpdateTime))
      throw failure(
        9,
        'FAILED_PRECONDITION',
        `the stored version of ${id} does not match the required base version`,
      );
  } else if (exists === true && !current) {
    throw failure(5, 'NOT_FOUND', `No document to update: ${id}`);
  } else if (exists === false && current) {
    throw failure(6, 'ALREADY_EXISTS', `Document already exists: ${id}`);
  }
}

/** Firestore's own limits on values: no `undefined`, no functions or class instances (but Timestamp). */
function checkValue(value: unknown, path: string): void {
  if (value === null || ['string', 'number', 'boolean'].includes(typeof value) || value instanceof Timestamp)
    return;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) checkValue(v, `${path}[${i}]`);
    return;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value)) checkValue(v, path ? `${path}.${k}` : k);
    return;
  }
  throw new Error(
    `Value for argument "data" is not a valid Firestore document. Cannot use "${String(value)}" as a Firestore value (found in field "${path}").`,
  );
}

/** Firestore's storage size: name, plus each field name and value (strings as UTF-8 + 1), plus 32. */
function documentSize(id: string, data: DocumentData): number {
  const sizeOf = (v: unknown): number =>
    typeof v === 'string'
      ? Buffer.byteLength(v) + 1
      : typeof v === 'number'
        ? 8
        : v === null || typeof v === 'boolean'
          ? 1
          : Object.entries(v as object).reduce((n, [k, x]) => n + Buffer.byteLength(k) + 1 + sizeOf(x), 0);
  return Buffer.byteLength(id) + 16 + sizeOf(data) + 32;
}

/** Firestore orders strings by their UTF-8 bytes; other values here are compared by type, then value. */
function compare(a: unknown, b: unknown): number {
  if (typeof a === 'string' && typeof b === 'string') return Buffer.compare(Buffer.from(a), Buffer.from(b));
  if (typeof a !== typeof b) return typeof a < typeof b ? -1 : 1;
  return a === b ? 0 : (a as number) < (b as number) ? -1 : 1;
}

function matches(c: number, op: WhereFilterOp): boolean {
  return op === '=='
    ? c === 0
    : op === '!='
      ? c !== 0
      : op === '<'
        ? c < 0
        : op === '<='
          ? c <= 0
          : op === '>'
            ? c > 0
            : c >= 0;
}
