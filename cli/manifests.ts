/**
 * Reads the documents `weft apply -f` names: files, directories (every
 * `*.yaml`, `*.yml` and `*.json` in them, sorted) or `-` for stdin. Each
 * document remembers where it came from, so an error the API reports at
 * `/3/spec/...` can name the file and document the operator wrote.
 *
 * @module
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative, resolve } from 'node:path';
import { parseAllDocuments, parseDocument, type YAMLError } from 'yaml';
import type { CommandContext } from './command.js';
import { InputError } from './errors.js';

/** One document and where it stands in the input. */
export interface Manifest {
  readonly document: unknown;
  /** The file as the operator named it, or `stdin`. */
  readonly source: string;
  /** 1-based position of the document within its source. */
  readonly position: number;
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/**
 * How messages name a document, everywhere: its file and 1-based position,
 * then its kind and name when it has them.
 *
 * @example describeManifest(m) // 'mesh.yaml, document 2 (Service shop/orders)'
 */
export function describeManifest({ document, source, position }: Manifest): string {
  const { kind, metadata } = (isRecord(document) ? document : {}) as { kind?: unknown; metadata?: unknown };
  const { name, namespace } = (isRecord(metadata) ? metadata : {}) as { name?: unknown; namespace?: unknown };
  const id = typeof name === 'string' ? (typeof namespace === 'string' ? `${namespace}/${name}` : name) : '';
  const what = [typeof kind === 'string' ? kind : '', id].filter(Boolean).join(' ');
  return `${source}, document ${position}${what ? ` (${what})` : ''}`;
}

/**
 * @throws InputError (exit 2) when a path is missing, a directory holds no
 *   manifests, a file does not parse, or there are no documents at all.
 */
export async function readManifests(paths: readonly string[], ctx: CommandContext): Promise<Manifest[]> {
  const manifests: Manifest[] = [];
  for (const path of paths) {
    for (const file of await expand(path, ctx)) {
      const text = file === '-' ? await readStdin(ctx) : await readText(resolve(ctx.cwd, file), file);
      const source = file === '-' ? 'stdin' : file;
      parseDocuments(text, source, extname(file).toLowerCase() === '.json').forEach((document, i) => {
        manifests.push({ document, source, position: i + 1 });
      });
    }
  }
  if (manifests.length === 0) throw failed(`${paths.join(', ')}: no documents to apply`);
  return manifests;
}

/** A path as files: itself, or a directory's manifests in name order. */
async function expand(path: string, ctx: CommandContext): Promise<string[]> {
  if (path === '-') return ['-'];
  const absolute = resolve(ctx.cwd, path);
  const info = await stat(absolute).catch(() => undefined);
  if (!info) throw failed(`${path} does not exist`);
  if (!info.isDirectory()) return [path];
  const names = (await readdir(absolute)).filter((n) => EXTENSIONS.has(extname(n).toLowerCase())).sort();
  if (names.length === 0) throw failed(`${path} holds no *.yaml, *.yml or *.json files`);
  return names.map((n) => relative(ctx.cwd, join(absolute, n)) || n);
}

/**
 * Parses multi-document YAML (which reads JSON too), unwrapping arrays and
 * `{kind: XxxList, items}` lists as the API does, so `weft get -o json | weft apply -f -` works.
 */
export function parseDocuments(text: string, source: string, json: boolean): unknown[] {
  if (json) {
    try {
      return unwrap(JSON.parse(text));
    } catch (cause) {
      // JSON.parse counts characters, or names no place at all; the YAML parser (JSON is YAML) may.
      const message = (cause as Error).message;
      const offset = /in JSON at position (\d+)/.exec(message)?.[1];
      const yamlError = parseDocument(text).errors[0];
      const at = offset ? position(Number(offset), text) : yamlError ? position(yamlError, text) : '';
      const reason = message.replace(/ in JSON at position \d+.*$/, '');
      throw failed(`${source} is not valid JSON${at}: ${reason}`, cause);
    }
  }
  const documents: unknown[] = [];
  for (const doc of parseAllDocuments(text, { uniqueKeys: true })) {
    const error = doc.errors[0];
    if (error) {
      // The parser's message repeats the position and quotes the source: keep the sentence.
      const reason = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      throw failed(`${source} is not valid YAML${position(error, text)}: ${reason}`, error);
    }
    if (doc.contents === null) continue; // an empty document, e.g. after a trailing `---`
    try {
      // Aliases are capped so a "billion laughs" file cannot exhaust memory.
      documents.push(...unwrap(doc.toJS({ maxAliasCount: 100 })));
    } catch (cause) {
      // An alias or anchor problem: the parser says what, but not where; say which document.
      const line = text.slice(0, doc.range[0]).split('\n').length;
      throw failed(
        `${source} is not valid YAML (the document at line ${line}): ${(cause as Error).message}`,
        cause,
      );
    }
  }
  return documents;
}

/** ` (line 3, column 5)`: where a parse error is, 1-based, as editors count. */
function position(at: YAMLError | number, text: string): string {
  if (typeof at !== 'number') {
    const pos = at.linePos?.[0];
    return pos ? ` (line ${pos.line}, column ${pos.col})` : position(at.pos[0], text);
  }
  const before = text.slice(0, at).split('\n');
  return ` (line ${before.length}, column ${before.at(-1)!.length + 1})`;
}

function unwrap(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'object' && value !== null && Array.isArray((value as { items?: unknown }).items)) {
    const kind = (value as { kind?: unknown }).kind;
    if (kind === undefined || (typeof kind === 'string' && kind.endsWith('List'))) {
      return (value as { items: unknown[] }).items;
    }
  }
  return [value];
}

async function readText(absolute: string, shown: string): Promise<string> {
  try {
    return await readFile(absolute, 'utf8');
  } catch (cause) {
    throw failed(
      `cannot read ${shown}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`,
      cause,
    );
  }
}

export async function readStdin(ctx: CommandContext): Promise<string> {
  if (ctx.stdin.isTTY) ctx.err('reading documents from stdin; end with Ctrl-D');
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.stdin) chunks.push(Buffer.from(chunk as Buffer | string));
  return Buffer.concat(chunks).toString('utf8');
}

function failed(message: string, cause?: unknown): InputError {
  return new InputError(message, { cause });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
