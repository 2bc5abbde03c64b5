/**
 * Writes `infra/azure/weft.json`, the ARM template `deploy.sh` deploys, from
 * `weftTemplate()`. Run it after changing `template.ts`
 * (`npm run synth:azure`); a test fails while the file is stale.
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { weftTemplate } from './template.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const file = join(here, 'weft.json');

writeFileSync(file, `${JSON.stringify(weftTemplate(), null, 2)}\n`);
// The repository's formatter owns the layout, so `npm run lint` passes on the file as written.
const biome = spawnSync(join(root, 'node_modules', '.bin', 'biome'), ['format', '--write', file], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (biome.status !== 0) {
  process.stderr.write(`biome could not format ${file}\n`);
  process.exit(1);
}
process.stderr.write(`wrote ${file}\n`);
