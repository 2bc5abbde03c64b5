#!/usr/bin/env node
/**
 * The `weft` executable. It runs the compiled CLI (`dist/`, built by
 * `npm run build`, which `npm ci` runs as `prepare` and `npm pack` ships),
 * so no command pays for compiling TypeScript.
 *
 * In a checkout whose sources are newer than the build (an edit since the
 * last `npm run build`), it runs the sources through tsx instead: slower,
 * never stale. An installed package has no sources, so it never looks.
 *
 * @module
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = `${root}dist/cli/main.js`;
const stamp = `${root}dist/.tsbuildinfo`;
/** The directories `tsconfig.build.json` compiles. */
const SOURCES = ['shared', 'functions', 'agents', 'cli', 'local-mesh', 'process'];

// `weft get ... | head` closes the pipe early; that is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const { runCli } = (await buildIsCurrent()) ? await import(built) : await fromSources();
const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// The command is done. A library may still hold a handle (an embedded store
// whose server then failed to listen, a socket pool); a finished `weft` must
// not hang on it, so the exit is forced shortly after.
setTimeout(() => process.exit(code), 500).unref();

/** True when `dist/` exists and no source is newer than it (`WEFT_FROM_SOURCE=1` says no). */
async function buildIsCurrent() {
  if (process.env.WEFT_FROM_SOURCE === '1' || !existsSync(built) || !existsSync(stamp)) return false;
  if (!existsSync(`${root}cli/main.ts`)) return true;
  const builtAt = statSync(stamp).mtimeMs;
  const newer = (dir) =>
    readdirSync(dir, { withFileTypes: true }).some((entry) => {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) return newer(path);
      return entry.name.endsWith('.ts') && statSync(path).mtimeMs > builtAt;
    });
  return !SOURCES.some((dir) => existsSync(`${root}${dir}`) && newer(`${root}${dir}`));
}

/** The sources through tsx, with the project's own tsconfig whatever the working directory holds. */
async function fromSources() {
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: `${root}tsconfig.json` });
  return import('../cli/main.ts');
}
