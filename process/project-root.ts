/**
 * Where weft's own files are (package.json, `bin/`, `examples/`), whether
 * this module runs as TypeScript from the checkout (`process/`) or compiled
 * (`dist/process/`), and whatever the working directory is.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

/** The directory that holds weft's package.json. */
export const PROJECT_ROOT: string = findRoot();

/** A file of the package by its path from the package root, e.g. `examples/demo-mesh.yaml`. */
export const projectFile = (path: string): string => join(PROJECT_ROOT, path);
