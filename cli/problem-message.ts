/**
 * Turns an RFC 9457 problem from the API into one line that says what went
 * wrong, where (the flag the user typed, or the file and document the field
 * came from) and what to do next. Field errors are phrased for people: the
 * schema library's own wording (`Invalid input: expected array, received
 * undefined`) never reaches the terminal.
 *
 * @module
 */
import type { Connection } from './connection.js';
import { RequestError } from './errors.js';

/** The parts of a problem document the CLI reads; anything may be missing. */
export interface ProblemBody {
  readonly detail?: string;
  readonly title?: string;
  readonly field?: string;
  readonly errors?: readonly { readonly pointer: string; readonly detail: string }[];
}

export interface ProblemContext {
  readonly connection: Connection;
  /**
   * What the user calls the field at `pointer`: the flag (`--ttl`), or file,
   * document and path (`mesh.yaml, document 2 (Service shop/orders): spec.ports`).
   */
  readonly locateField?: ((pointer: string) => string | undefined) | undefined;
  /** What to do after a 404, e.g. how to list what exists. */
  readonly notFoundHint?: string | undefined;
}

/** The error to throw for a refused request. */
export function problemError(status: number, problem: ProblemBody, context: ProblemContext): RequestError {
  const hint = hintFor(status, context);
  const [first, ...more] = problem.errors ?? [];
  let message: string;
  if (first) {
    message = firstIssue(problem.detail, first, context);
    // The apply endpoint's promise, which the per-field lines would otherwise lose.
    if (problem.detail?.endsWith('nothing was written')) message += '; nothing was written';
  } else {
    const detail = problem.detail || problem.title || `the API answered ${status}`;
    message = problem.field ? `${detail} (${fieldName(problem.field, context)})` : detail;
  }
  return new RequestError(
    `${message}${hint ? `; ${hint}` : ''}`,
    more.map((e) => `  ${describeIssue(e.pointer, e.detail, context)}`),
  );
}

/**
 * `/spec/ports/0/port` as a person reads it: `spec.ports[0].port`.
 *
 * @example fieldPath('/spec/rules/1/backends') // 'spec.rules[1].backends'
 */
export function fieldPath(pointer: string): string {
  return segments(pointer)
    .map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`))
    .join('');
}

/**
 * A locator for a body built from flags: `{ '/ttl': '--ttl' }`.
 *
 * @example client.request('POST', '/v1/join-tokens', { json, locateField: flagFields({ '/ttl': '--ttl' }) })
 */
export function flagFields(flags: Readonly<Record<string, string>>): (pointer: string) => string | undefined {
  return (pointer) => flags[pointer];
}

/**
 * The first issue, with what the API's summary adds: when it is more than
 * the issue (`ttl must be between 1 second and 3600 seconds` for an issue
 * `172800000 ms`), it leads.
 */
function firstIssue(
  summary: string | undefined,
  issue: { pointer: string; detail: string },
  context: ProblemContext,
): string {
  if (!summary || summary.includes(issue.detail)) return describeIssue(issue.pointer, issue.detail, context);
  const name = fieldName(issue.pointer, context);
  const field = lastField(issue.pointer);
  if (field && summary.startsWith(`${field} `)) {
    return `${name}${summary.slice(field.length)} (${humanize(issue.detail, issue.pointer)})`;
  }
  return `${summary}: ${describeIssue(issue.pointer, issue.detail, context)}`;
}

/** `mesh.yaml, document 2 (Service shop/orders): spec.ports is required (a list of ports)`. */
function describeIssue(pointer: string, detail: string, context: ProblemContext): string {
  const name = fieldName(pointer, context);
  // The API counts documents from 0 in its own text: name them as the user does.
  const phrase = humanize(detail, pointer).replace(
    /\bdocument (\d+)\b/g,
    (text, index: string) => context.locateField?.(`/${index}`) ?? text,
  );
  const field = lastField(pointer);
  if (field && phrase.startsWith(`${field} `)) return `${name}${phrase.slice(field.length)}`;
  return VERB.test(phrase) ? `${name} ${phrase}` : `${name}: ${phrase}`;
}

/** Phrases that read on after a field's name without a colon. */
const VERB = /^(is|are|must|needs|has|holds|names|matches|cannot) /;

function fieldName(pointer: string, context: ProblemContext): string {
  return context.locateField?.(pointer) ?? (fieldPath(pointer) || 'the request body');
}

function segments(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** The last named (non-index) segment: `ports` for `/spec/ports/0`. */
function lastField(pointer: string): string | undefined {
  return segments(pointer)
    .filter((s) => !/^\d+$/.test(s))
    .at(-1);
}

const TYPES: Readonly<Record<string, string>> = {
  array: 'a list',
  object: 'a mapping of fields',
  record: 'a mapping',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  bigint: 'a whole number',
  boolean: 'true or false',
  null: 'null',
  date: 'a date',
};

function typeName(type: string, field?: string): string {
  // `ports` is a list of ports; a singular name says only "a list".
  if (type === 'array' && field && /[a-z]s$/.test(field)) return `a list of ${field}`;
  return TYPES[type] ?? type;
}

const BOUNDS: Readonly<Record<string, string>> = {
  '>=': 'at least',
  '>': 'more than',
  '<=': 'at most',
  '<': 'less than',
  'exactly ': 'exactly',
};

/** `1 items` reads `1 item`. */
const singular = (unit: string) => unit.replace(/ies$/, 'y').replace(/s$/, '');

/**
 * The schema library's default messages (zod 4, English) as the rest of a
 * sentence that starts with the field's name. Messages the schemas wrote
 * themselves (`must be host:port ...`) are phrased for people already and
 * pass through. `g` holds the capture groups.
 */
const REPHRASINGS: readonly (readonly [RegExp, (g: readonly string[], field?: string) => string])[] = [
  [
    /^Invalid input: expected (\w+), received (\w+)$/,
    ([expected = '', received = ''], field) => {
      if (received !== 'undefined') return `must be ${typeName(expected, field)}, not ${typeName(received)}`;
      return expected === 'nonoptional' ? 'is required' : `is required (${typeName(expected, field)})`;
    },
  ],
  [/^Invalid input: expected (.+)$/, ([value]) => `must be ${value}`],
  [
    /^Invalid option: expected one of (.+)$/,
    ([values = '']) => `must be one of ${values.split('|').join(', ')}`,
  ],
  [
    /^Too (?:small|big): expected \w+ to (have|be) (>=|>|<=|<|exactly )(\S+)(?: (\w+))?$/,
    ([verb, op = '', limit = '', unit = '']) => {
      if (verb === 'be') return `must be ${BOUNDS[op]} ${limit}`;
      return `needs ${op === '<' ? 'fewer than' : BOUNDS[op]} ${limit} ${limit === '1' ? singular(unit) : unit}`;
    },
  ],
  [/^Invalid string: must match pattern (.+)$/, ([pattern]) => `must match ${pattern}`],
  [/^Invalid (?:string|number): (must .+)$/, ([rest = '']) => rest],
  [/^unknown field "[^"]*"; (.+)$/, ([rest]) => `is not a known field; ${rest}`],
  [/^Unrecognized keys?: (.+)$/, ([keys]) => `has fields it does not know: ${keys}`],
  [/^Invalid key in \w+$/, () => 'has a key that is not allowed'],
  [/^Invalid value in \w+$/, () => 'holds a value that is not allowed'],
  [
    /^Invalid discriminator value\. Expected (.+)$/,
    ([options = '']) => `must be one of ${options.replaceAll("'", '').split(' | ').join(', ')}`,
  ],
  [/^Invalid input: more than one option matched$/, () => 'matches more than one of the forms it may take'],
  [/^Invalid input$/, () => 'is none of the forms it may take (GET /v1/openapi.json lists them)'],
  [
    /^\S+ is also (document \d+); give each once$/,
    ([other]) => `names the same resource as ${other}; give each once`,
  ],
  [/^Invalid (.+)$/, ([what]) => `must be a valid ${what}`],
];

function humanize(detail: string, pointer: string): string {
  for (const [pattern, rephrase] of REPHRASINGS) {
    const match = pattern.exec(detail);
    if (match) return rephrase(match.slice(1), lastField(pointer));
  }
  return detail;
}

function hintFor(status: number, { connection, notFoundHint }: ProblemContext): string | undefined {
  switch (status) {
    case 401:
      return connection.tokenSource === 'none'
        ? `run \`weft serve\` (it writes ${connection.tokenFile}), or pass --token / set WEFT_TOKEN`
        : `run \`weft serve\`, or pass a current admin token with --token / WEFT_TOKEN (the ${sourceName(connection)} was refused)`;
    case 403:
      return 'writing needs an admin token: pass one with --token / WEFT_TOKEN';
    case 404:
      return notFoundHint;
    case 400:
    case 422:
      return 'fix it and run the command again';
    case 409:
    case 412:
      return 'it changed meanwhile: run the command again';
    case 429:
    case 503:
      return 'the API is busy or a backing service is down: try again shortly';
    default:
      return status >= 500 ? "the API failed: see the server's log (locally DATA/api.log)" : undefined;
  }
}

function sourceName(connection: Connection): string {
  if (connection.tokenSource === 'flag') return '--token value';
  if (connection.tokenSource === 'env') return 'WEFT_TOKEN value';
  return `token in ${connection.tokenFile}`;
}
