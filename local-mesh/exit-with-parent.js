/**
 * Preloaded (`node --import`) into every child `weft up` starts, so no
 * child outlives it. `weft up` starts its agents in their own process group
 * (so a terminal's Ctrl-C reaches only `weft up`, which then stops them in
 * order); the price is that a `weft up` killed outright (SIGKILL, a crashed
 * terminal) would leave them running. This closes that gap: when the parent
 * is gone, the process is re-parented and `process.ppid` changes, and the
 * child stops itself with SIGTERM, the same clean stop as `weft up` asks for.
 *
 * Plain JavaScript because it runs before `bin/weft.js` registers tsx.
 *
 * @module
 */
const parent = process.ppid;
const watch = setInterval(() => {
  if (process.ppid === parent) return;
  // Once: a second signal would make the child skip its clean stop.
  clearInterval(watch);
  process.kill(process.pid, 'SIGTERM');
}, 1000).unref();
