/**
 * The use cases behind the resource endpoints: read, write under
 * compare-and-set, delete as a tombstone, and apply many documents at once.
 *
 * @module
 */
import {
  ConflictError,
  type FieldIssue,
  NotFoundError,
  PreconditionFailedError,
  ValidationError,
} from '../model/errors.js';
import type { HybridLogicalClock } from '../model/hlc.js';
import { formatKey, type Kind, type ResourceKey } from '../model/kinds.js';
import { canonicalJson, keyOf, parseResource, type Resource } from '../model/resource.js';
import type { LabelSelector } from '../storage/label-selector.js';
import type { StateStore, StoredRecord } from '../storage/state-store.js';
import { findReferenceIssues } from './references.js';

export type WriteAction = 'created' | 'configured' | 'unchanged' | 'deleted';

export interface WriteResult {
  readonly action: WriteAction;
  readonly record: StoredRecord;
}

export interface ResourceServiceOptions {
  readonly store: StateStore;
  readonly hlc: HybridLogicalClock;
  /** @default Date.now */
  readonly now?: () => number;
}

/** How often a write without `If-Match` retries a lost compare-and-set. */
const CAS_ATTEMPTS = 5;

/** A stored record as the API shows it: the document plus system `status`. */
export function present(record: StoredRecord): Resource {
  if (!record.resource) throw new TypeError('a tombstone has no document');
  return {
    ...record.resource,
    status: { version: record.version, updatedAt: record.updatedAt, origin: record.origin },
  } as Resource;
}

export class ResourceService {
  private readonly store: StateStore;
  private readonly hlc: HybridLogicalClock;
  private readonly now: () => number;

  constructor(options: ResourceServiceOptions) {
    this.store = options.store;
    this.hlc = options.hlc;
    this.now = options.now ?? Date.now;
  }

  /** @throws NotFoundError when absent or deleted. */
  async get(key: ResourceKey): Promise<StoredRecord> {
    const record = await this.store.get(key);
    if (!record?.resource) throw new NotFoundError(`${formatKey(key)} does not exist`);
    return record;
  }

  list(kind: Kind, namespace?: string, selector?: LabelSelector): Promise<StoredRecord[]> {
    return this.store.list(kind, {
      ...(namespace !== undefined && { namespace }),
      ...(selector && { selector }),
    });
  }

  /**
   * Validates and writes one document. `ifMatch` is a version or `*`; without
   * it a lost race is retried, with it the caller hears 412.
   */
  async put(input: unknown, expected: ResourceKey, ifMatch?: string): Promise<WriteResult> {
    const doc = parseResource(input);
    const key = keyOf(doc);
    const mismatch = keyMismatch(key, expected);
    if (mismatch) throw new ValidationError(`${mismatch.pointer}: ${mismatch.detail}`, [mismatch]);
    const refs = (await findReferenceIssues(this.store, [doc])).get(0);
    if (refs) throw new ValidationError(`${refs[0]!.pointer}: ${refs[0]!.detail}`, refs);
    return this.write(doc, ifMatch);
  }

  /** @throws NotFoundError when there is nothing live to delete. */
  async delete(key: ResourceKey, ifMatch?: string): Promise<WriteResult> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.store.get(key);
      if (!current?.resource) throw new NotFoundError(`${formatKey(key)} does not exist`);
      checkIfMatch(key, current, ifMatch);
      const stamp = this.stamp(current);
      try {
        await this.store.delete(key, stamp, { ifVersion: current.version });
        return { action: 'deleted', record: { key, ...stamp, resource: null } };
      } catch (error) {
        this.onConflict(error, key, ifMatch, attempt);
      }
    }
  }

  /**
   * Applies many documents: every one is validated (schema, names, references
   * within the batch and the store) before any is written.
   *
   * @throws ValidationError whose pointers start with the document index (`/2/spec/...`).
   */
  async apply(inputs: readonly unknown[], dryRun = false): Promise<WriteResult[]> {
    const issues: FieldIssue[] = [];
    const docs: Resource[] = [];
    const seen = new Map<string, number>();
    inputs.forEach((input, index) => {
      try {
        const doc = parseResource(input);
        const id = formatKey(keyOf(doc));
        const first = seen.get(id);
        if (first !== undefined) {
          issues.push({
            pointer: `/${index}/metadata/name`,
            detail: `${id} is also document ${first}; give each once`,
          });
        }
        seen.set(id, index);
        docs[index] = doc;
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        issues.push(...error.issues.map((i) => ({ pointer: `/${index}${i.pointer}`, detail: i.detail })));
      }
    });
    if (issues.length === 0) {
      for (const [index, refs] of await findReferenceIssues(this.store, docs)) {
        issues.push(...refs.map((i) => ({ pointer: `/${index}${i.pointer}`, detail: i.detail })));
      }
    }
    if (issues.length > 0) {
      const first = issues[0]!;
      throw new ValidationError(
        `document ${first.pointer.split('/')[1]}: ${first.pointer}: ${first.detail}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}; nothing was written`,
        issues,
      );
    }
    // Environments first, so a reader never sees a Route before what it names.
    const order = docs.map((_, i) => i).sort((a, b) => rank(docs[a]!.kind) - rank(docs[b]!.kind) || a - b);
    const results: WriteResult[] = new Array(docs.length);
    for (const i of order) results[i] = dryRun ? await this.preview(docs[i]!) : await this.write(docs[i]!);
    return results;
  }

  /** What `write` would do, without writing: the record keeps its current version. */
  private async preview(doc: Resource): Promise<WriteResult> {
    const key = keyOf(doc);
    const current = await this.store.get(key);
    if (!current?.resource) {
      return {
        action: 'created',
        record: { key, version: '', origin: this.hlc.node, updatedAt: '', resource: doc },
      };
    }
    return { action: sameDocument(current.resource, doc) ? 'unchanged' : 'configured', record: current };
  }

  private async write(doc: Resource, ifMatch?: string): Promise<WriteResult> {
    const key = keyOf(doc);
    for (let attempt = 1; ; attempt++) {
      const current = await this.store.get(key);
      checkIfMatch(key, current, ifMatch);
      if (current?.resource && sameDocument(current.resource, doc))
        return { action: 'unchanged', record: current };
      const record: StoredRecord = { key, ...this.stamp(current), resource: doc };
      try {
        await this.store.put(record, { ifVersion: current?.version ?? null });
        return { action: current?.resource ? 'configured' : 'created', record };
      } catch (error) {
        this.onConflict(error, key, ifMatch, attempt);
      }
    }
  }

  private stamp(current: StoredRecord | undefined) {
    if (current) this.hlc.observe(current.version);
    return {
      version: this.hlc.now(),
      origin: this.hlc.node,
      updatedAt: new Date(this.now()).toISOString(),
    };
  }

  private onConflict(error: unknown, key: ResourceKey, ifMatch: string | undefined, attempt: number): void {
    if (!(error instanceof ConflictError)) throw error;
    if (ifMatch !== undefined) {
      throw new PreconditionFailedError(`${formatKey(key)} changed meanwhile; read it again and retry`, {
        cause: error,
      });
    }
    if (attempt >= CAS_ATTEMPTS) throw error;
  }
}

function checkIfMatch(
  key: ResourceKey,
  current: StoredRecord | undefined,
  ifMatch: string | undefined,
): void {
  if (ifMatch === undefined) return;
  const live = current?.resource ? current.version : undefined;
  if (ifMatch === '*' ? live === undefined : live !== ifMatch) {
    throw new PreconditionFailedError(
      `If-Match ${ifMatch} does not match ${formatKey(key)} (now ${live ?? 'absent'}); read it again and retry`,
    );
  }
}

function sameDocument(a: Resource, b: Resource): boolean {
  return canonicalJson({ ...a, status: undefined }) === canonicalJson({ ...b, status: undefined });
}

function keyMismatch(actual: ResourceKey, expected: ResourceKey): FieldIssue | undefined {
  if (actual.kind !== expected.kind) {
    return { pointer: '/kind', detail: `this path takes ${expected.kind}, the document is a ${actual.kind}` };
  }
  if (actual.namespace !== expected.namespace) {
    return {
      pointer: '/metadata/namespace',
      detail: `the path says namespace ${expected.namespace}, the document ${actual.namespace}`,
    };
  }
  if (actual.name !== expected.name) {
    return {
      pointer: '/metadata/name',
      detail: `the path says name ${expected.name}, the document ${actual.name}`,
    };
  }
  return undefined;
}

const ORDER: readonly Kind[] = [
  'Mesh',
  'Environment',
  'Gateway',
  'Service',
  'Workload',
  'AccessPolicy',
  'Route',
];
const rank = (kind: Kind) => ORDER.indexOf(kind);
