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
import { parseAllDocuments } from 'yaml';
import type { CommandContext } from './command.js';
import { CliError, EXIT } from './errors.js';

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
 * @throws CliError (exit 1) when a path is missing, a directory holds no
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
      throw failed(`${source} is not valid JSON: ${(cause as Error).message}`, cause);
    }
  }
  const documents: unknown[] = [];
  for (const doc of parseAllDocuments(text, { uniqueKeys: true })) {
    const error = doc.errors[0];
    if (error) {
      const pos = error.linePos?.[0];
      const at = pos ? ` (line ${pos.line}, column ${pos.col})` : '';
      // The parser's message repeats the position and quotes the source: keep the sentence.
      const reason = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      throw failed(`${source} is not valid YAML${at}: ${reason}`, error);
    }
    if (doc.contents === null) continue; // an empty document, e.g. after a trailing `---`
    try {
      // Aliases are capped so a "billion laughs" file cannot exhaust memory.
      documents.push(...unwrap(doc.toJS({ maxAliasCount: 100 })));
    } catch (cause) {
      throw failed(`${source} is not valid YAML: ${(cause as Error).message}`, cause);
    }
  }
  return documents;
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

function failed(message: string, cause?: unknown): CliError {
  return new CliError(message, EXIT.failed, [], { cause });
}
