// `npm run bench`: every benchmark of bench/, one after another.
// Not run by CI. Each script prints its own table; `--json` makes them print
// JSON instead.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const benches = ['deferred.mjs', 'checksum.mjs', 'relay.mjs', 'stats.mjs', 'connect.mjs', 'connrate.mjs', 'memory.mjs', 'udp.mjs', 'startup.mjs'];
// `npm run bench -- --only connect,udp` runs a subset (names without .mjs).
const argv = process.argv.slice(2);
const only = argv.includes('--only') ? argv.splice(argv.indexOf('--only'), 2)[1].split(',') : null;
let failed = 0;
for (const b of benches.filter((f) => !only || only.includes(f.replace('.mjs', '')))) {
  const r = spawnSync(process.execPath, [`${here}${b}`, ...argv], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
