#!/usr/bin/env node
/**
 * The `weft` executable. It registers tsx so the TypeScript sources run as
 * they are (no build step), then hands the command line to `cli/main.ts`.
 *
 * @module
 */
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// The project's own tsconfig, not whatever the working directory holds:
// `weft` behaves the same from any directory.
register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });

// `weft get ... | head` closes the pipe early; that is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const { runCli } = await import('../cli/main.ts');
const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// The command is done. A library may still hold a handle (an embedded store
// whose server then failed to listen, a socket pool); a finished `weft` must
// not hang on it, so the exit is forced shortly after.
setTimeout(() => process.exit(code), 500).unref();
