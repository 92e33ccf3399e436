// The cost of --stats: relay throughput of `wirecat relay` with and without
// --stats=json (and --checksum, for scale), ratios per round to plain wirecat.
// A thin wrapper over relay.mjs:
//
//   node bench/stats.mjs [--size BYTES] [--rounds N] [--json]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const relay = fileURLToPath(new URL('relay.mjs', import.meta.url));
const extra = process.argv.slice(2);
const r = spawnSync(process.execPath, [relay, '--only', 'wirecat,wirecat --stats', '--ref', 'wirecat', ...(extra.includes('--size') ? [] : ['--size', String(2 * 1024 ** 3)]), ...extra], { stdio: 'inherit' });
process.exitCode = r.status ?? 1;
