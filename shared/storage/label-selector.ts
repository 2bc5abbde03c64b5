/**
 * Kubernetes label selectors: `app=web,tier!=db,env in (prod,stage),!legacy,team`.
 *
 * @module
 */
import { ValidationError } from '../model/errors.js';
import { LABEL_KEY, LABEL_VALUE } from '../model/names.js';

export type Requirement =
  | { readonly key: string; readonly op: 'eq' | 'neq'; readonly value: string }
  | { readonly key: string; readonly op: 'in' | 'notin'; readonly values: readonly string[] }
  | { readonly key: string; readonly op: 'exists' | 'absent' };

/** All requirements must hold (AND). The empty selector matches everything. */
export type LabelSelector = readonly Requirement[];

const TERM = /^\s*(!)?\s*([^\s=!(),]+)\s*(?:(==|=|!=)\s*([^\s=!(),]*)|\s+(in|notin)\s*\(([^)]*)\))?\s*$/;

/**
 * Parses a selector string.
 *
 * @throws ValidationError with pointer `labelSelector` when it is malformed.
 */
export function parseLabelSelector(text: string): LabelSelector {
  if (text.length > 4096) throw invalid('selector is longer than 4096 characters');
  const terms = splitTerms(text);
  return terms.map((term) => {
    const m = TERM.exec(term);
    if (!m)
      throw invalid(`cannot read "${term.trim()}"; write key=value, key!=value, key in (a,b), key or !key`);
    const [, not, key, eqOp, eqValue, setOp, setValues] = m;
    checkKey(key!);
    if (not) {
      if (eqOp || setOp) throw invalid(`"!" goes only before a bare key, as in !${key}`);
      return { key: key!, op: 'absent' };
    }
    if (eqOp) return { key: key!, op: eqOp === '!=' ? 'neq' : 'eq', value: checkValue(eqValue ?? '') };
    if (setOp) {
      const values = (setValues ?? '')
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '')
        .map(checkValue);
      if (values.length === 0) throw invalid(`"${key} ${setOp} ()" needs at least one value`);
      return { key: key!, op: setOp as 'in' | 'notin', values };
    }
    return { key: key!, op: 'exists' };
  });
}

/** Does a resource with these labels satisfy the selector? */
export function matchesSelector(
  selector: LabelSelector,
  labels: Readonly<Record<string, string>> = {},
): boolean {
  return selector.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    const value = labels[r.key];
    switch (r.op) {
      case 'eq':
        return value === r.value;
      case 'neq':
        return value !== r.value;
      case 'in':
        return has && r.values.includes(value!);
      case 'notin':
        return !has || !r.values.includes(value!);
      case 'exists':
        return has;
      case 'absent':
        return !has;
    }
    return false;
  });
}

/** Splits on commas that are not inside parentheses. */
function splitTerms(text: string): string[] {
  if (text.trim() === '') return [];
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
    if (depth < 0 || depth > 1) throw invalid('unbalanced parentheses');
  }
  if (depth !== 0) throw invalid('unbalanced parentheses');
  terms.push(text.slice(start));
  return terms;
}

function checkKey(key: string): void {
  if (!LABEL_KEY.test(key)) throw invalid(`"${key}" is not a label key`);
}

function checkValue(value: string): string {
  if (!LABEL_VALUE.test(value)) throw invalid(`"${value}" is not a label value`);
  return value;
}

function invalid(detail: string): ValidationError {
  return new ValidationError(`labelSelector: ${detail}`, [{ pointer: 'labelSelector', detail }]);
}
