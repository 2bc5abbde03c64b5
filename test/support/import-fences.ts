/**
 * The import fences of docs/architecture.md as a pure check: given files
 * (path and source), every import that crosses a fence, named. The fence
 * test runs it over the real tree and over files made to break each rule.
 *
 * @module
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import ts from 'typescript';

export interface SourceFile {
  /** Repository-relative, with `/`. */
  readonly path: string;
  readonly text: string;
}

export interface FenceViolation {
  readonly file: string;
  readonly specifier: string;
  readonly rule: string;
}

const CLOUD_SDK = /^(@aws-sdk\/|@google-cloud\/|@azure\/|aws-cdk-lib(\/|$)|@middy\/)/;
const AGENT_SHARED_ROOMS = ['shared/contract/', 'shared/identity/', 'shared/model/'];
const HOSTS = ['functions/', 'cli/', 'local-mesh/', 'process/', 'agents/'];

/** Every module specifier of `text`: static imports and re-exports, dynamic imports. */
export function specifiersOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** Where a relative specifier of `file` points, repository-relative; `undefined` for a package. */
function resolved(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  return posix.normalize(posix.join(posix.dirname(file), specifier));
}

/** The fences each import of `files` must keep. */
export function checkFences(files: readonly SourceFile[]): FenceViolation[] {
  const out: FenceViolation[] = [];
  for (const { path, text } of files) {
    const inShared = path.startsWith('shared/');
    const inAgents = path.startsWith('agents/');
    const inModel = path.startsWith('shared/model/');
    for (const specifier of specifiersOf(text)) {
      const target = resolved(path, specifier);
      const flag = (rule: string) => out.push({ file: path, specifier, rule });
      if ((inShared || inAgents) && CLOUD_SDK.test(specifier)) flag('no cloud SDK in shared/ or agents/');
      if (target === undefined) continue;
      if (inAgents && target.startsWith('shared/') && !AGENT_SHARED_ROOMS.some((r) => target.startsWith(r)))
        flag('agents/ imports only shared/contract, shared/identity and shared/model');
      if (inModel && target.startsWith('shared/') && !target.startsWith('shared/model/'))
        flag('shared/model imports no other room of shared/');
      if (inShared && HOSTS.some((h) => target.startsWith(h)))
        flag('shared/ imports nothing from the hosts or the agent');
    }
  }
  return out;
}

/** The TypeScript and JavaScript files under `dirs` of the repository at `root`. */
export function readSources(root: string, dirs: readonly string[]): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules') continue;
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.(ts|js|mjs)$/.test(name))
        files.push({ path: relative(root, full).split('\\').join('/'), text: readFileSync(full, 'utf8') });
    }
  };
  for (const dir of dirs) walk(join(root, dir));
  return files;
}

export const repoRoot = dirname(dirname(dirname(new URL(import.meta.url).pathname)));
