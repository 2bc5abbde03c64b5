/**
 * `npm run bench`: every benchmark, or those named (`npm run bench -- api`).
 *
 * @module
 */
import { benchApi } from './api.js';
import { benchCli } from './cli.js';
import { benchCompile } from './compile.js';
import { benchConvergence } from './convergence.js';
import { benchDataplane } from './dataplane.js';
import { benchFunctions } from './functions.js';
import { benchIdentity } from './identity.js';
import { benchReplication } from './replication.js';

const BENCHES: Record<string, () => Promise<void>> = {
  api: benchApi,
  cli: benchCli,
  compile: benchCompile,
  convergence: benchConvergence,
  dataplane: benchDataplane,
  functions: benchFunctions,
  identity: benchIdentity,
  replication: benchReplication,
};

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!BENCHES[name]) {
    console.error(`unknown benchmark "${name}"; choose from: ${Object.keys(BENCHES).join(', ')}`);
    process.exit(2);
  }
}
for (const [name, bench] of Object.entries(BENCHES)) {
  if (wanted.length === 0 || wanted.includes(name)) await bench();
}
