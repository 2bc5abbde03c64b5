/**
 * The version `weft --version` prints: the package's own.
 *
 * @module
 */
import { readFileSync } from 'node:fs';

/** Read once from package.json next to the code, whatever the working directory. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
