#!/usr/bin/env node
/**
 * Write the address tables into man/wirecat.1 and README.md from the
 * registry of the built library (dist/index.js, which `npm run build`
 * produces), between the marker comments:
 *
 *   man:    .\" BEGIN GENERATED address-types     ...  .\" END GENERATED address-types
 *   README: <!-- BEGIN GENERATED address-types --> ... <!-- END GENERATED address-types -->
 *
 * (and the same for address-options). Nothing outside the markers changes.
 *
 * Usage:
 *   node man/generate.mjs          rewrite the regions that are out of date
 *   node man/generate.mjs --check  change nothing; exit 1 and say what differs
 *                                  when a region is out of date
 *
 * `npm run docs` builds and then runs the first form.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { REGIONS, extractRegion, regenerate, renderRegion } from './tables.mjs';

const FILES = [
  { path: fileURLToPath(new URL('./wirecat.1', import.meta.url)), name: 'man/wirecat.1', format: 'man' },
  { path: fileURLToPath(new URL('../README.md', import.meta.url)), name: 'README.md', format: 'md' },
];

/** The first line where two texts differ, for a short hint. */
function firstDifference(a, b) {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) return { line: i + 1, have: x[i], want: y[i] };
  }
  return undefined;
}

async function main(argv) {
  const check = argv.includes('--check');
  const unknown = argv.filter((a) => a !== '--check');
  if (unknown.length > 0) {
    process.stderr.write(`generate.mjs: unknown argument '${unknown[0]}' (usage: node man/generate.mjs [--check])\n`);
    return 2;
  }
  let lib;
  try {
    lib = await import(new URL('../dist/index.js', import.meta.url).href);
  } catch (e) {
    process.stderr.write(`generate.mjs: cannot load dist/index.js (run 'npm run build' first): ${e.message}\n`);
    return 2;
  }
  const tables = { types: lib.addressTypesTable(), options: lib.addressOptionsTable() };
  // Work out every file first, so that a missing marker changes nothing.
  const results = [];
  for (const f of FILES) {
    const text = readFileSync(f.path, 'utf8');
    try {
      results.push({ ...f, text, next: regenerate(text, f.format, tables) });
    } catch (e) {
      process.stderr.write(`generate.mjs: ${f.name}: ${e.message}\n`);
      return 1;
    }
  }
  let stale = 0;
  for (const f of results) {
    if (f.next === f.text) {
      if (!check) process.stdout.write(`${f.name}: up to date\n`);
      continue;
    }
    if (!check) {
      writeFileSync(f.path, f.next);
      process.stdout.write(`${f.name}: regenerated ${REGIONS.join(', ')}\n`);
      continue;
    }
    for (const region of REGIONS) {
      const have = extractRegion(f.text, f.format, region) ?? '';
      const want = renderRegion(f.format, region, tables);
      if (have === want) continue;
      stale++;
      const d = firstDifference(have, want);
      process.stderr.write(`${f.name}: generated region '${region}' is out of date\n`);
      if (d !== undefined) {
        process.stderr.write(`  first difference at line ${d.line} of the region:\n`);
        process.stderr.write(`  - ${d.have ?? '(nothing)'}\n  + ${d.want ?? '(nothing)'}\n`);
      }
    }
  }
  if (stale > 0) {
    process.stderr.write(`${stale} region${stale === 1 ? '' : 's'} out of date: run 'npm run docs' (or 'npm run build && node man/generate.mjs')\n`);
    return 1;
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
