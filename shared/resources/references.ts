/**
 * Rules that span resources: a Route's backends and failover, a Gateway's
 * and a Workload's environment must name Environments that exist (stored, or
 * in the same apply).
 *
 * @module
 */
import { type FieldIssue, ValidationError } from '../model/errors.js';
import type { Resource } from '../model/resource.js';
import type { StateStore } from '../storage/state-store.js';

/** Environment references in one document, with where they stand. */
function environmentRefs(doc: Resource): { pointer: string; name: string }[] {
  switch (doc.kind) {
    case 'Gateway':
    case 'Workload':
      return [{ pointer: '/spec/environment', name: doc.spec.environment }];
    case 'Service':
      return (doc.spec.endpoints ?? []).map((e, i) => ({
        pointer: `/spec/endpoints/${i}/environment`,
        name: e.environment,
      }));
    case 'Route':
      return doc.spec.rules.flatMap((rule, r) => [
        ...rule.backends.map((b, i) => ({
          pointer: `/spec/rules/${r}/backends/${i}/environment`,
          name: b.environment,
        })),
        ...(rule.failover ?? []).map((name, i) => ({ pointer: `/spec/rules/${r}/failover/${i}`, name })),
      ]);
    default:
      return [];
  }
}

/**
 * Checks every document's references against the store and the batch.
 *
 * @returns issues per document index (empty when all resolve).
 */
export async function findReferenceIssues(
  store: StateStore,
  docs: readonly Resource[],
): Promise<Map<number, FieldIssue[]>> {
  const issues = new Map<number, FieldIssue[]>();
  const needed = docs.map(environmentRefs);
  if (needed.every((refs) => refs.length === 0)) return issues;
  const known = new Set((await store.list('Environment')).map((r) => r.key.name));
  for (const doc of docs) if (doc.kind === 'Environment') known.add(doc.metadata.name);
  needed.forEach((refs, index) => {
    const missing = refs
      .filter((ref) => !known.has(ref.name))
      .map((ref) => ({
        pointer: ref.pointer,
        detail: `Environment ${ref.name} does not exist; create it first`,
      }));
    if (missing.length > 0) issues.set(index, missing);
  });
  return issues;
}

/** Throws a ValidationError for the first document whose references do not resolve. */
export async function checkReferences(store: StateStore, doc: Resource): Promise<void> {
  const issues = (await findReferenceIssues(store, [doc])).get(0);
  if (issues) throw new ValidationError(`${issues[0]!.pointer}: ${issues[0]!.detail}`, issues);
}
