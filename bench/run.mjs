// `npm run bench`: every benchmark of bench/, one after another.
// Not run by CI. Each script prints its own table; `--json` makes them print
// JSON instead.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const benches = ['deferred.mjs', 'checksum.mjs', 'relay.mjs'];
let failed = 0;
for (const b of benches) {
  const r = spawnSync(process.execPath, [`${here}${b}`, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
