/**
 * The version `weft --version` prints: the package's own.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { projectFile } from '../process/project-root.js';

/** Read once from package.json next to the code, whatever the working directory. */
export const VERSION: string = (
  JSON.parse(readFileSync(projectFile('package.json'), 'utf8')) as { version: string }
).version;
