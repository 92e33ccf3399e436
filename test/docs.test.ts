import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ADDRESS_OPTIONS, ADDRESS_TYPES, addressOptionsTable, addressTypesTable } from 'wirecat';
import { type DocFormat, REGIONS, extractRegion, renderRegion, roffToText } from '../man/tables.mjs';

// The address tables of the man page and the README are generated from the
// registry (man/generate.mjs, `npm run docs`). These tests fail when the
// registry changed and the documents were not regenerated.

const MAN = readFileSync(new URL('../man/wirecat.1', import.meta.url), 'utf8');
const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const FILES: { name: string; text: string; format: DocFormat }[] = [
  { name: 'man/wirecat.1', text: MAN, format: 'man' },
  { name: 'README.md', text: README, format: 'md' },
];
const tables = { types: addressTypesTable(), options: addressOptionsTable() };

/** `word` standing alone: not part of a longer name (`tcp` in `tcp-listen`). */
function mentions(text: string, word: string): boolean {
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![A-Za-z0-9-])${escaped}(?![A-Za-z0-9-])`).test(text);
}

/** A region as a reader sees it (roff escapes removed from the man page's). */
function region(file: (typeof FILES)[number], name: string): string {
  const text = extractRegion(file.text, file.format, name);
  expect(text, `${file.name} has no generated region '${name}' (markers missing)`).toBeDefined();
  return file.format === 'man' ? roffToText(text!) : text!;
}

describe('generated address tables', () => {
  for (const file of FILES) {
    describe(file.name, () => {
      for (const name of REGIONS) {
        it(`region '${name}' equals what man/generate.mjs writes from the registry`, () => {
          const have = extractRegion(file.text, file.format, name);
          expect(have, `markers of '${name}' missing in ${file.name}`).toBeDefined();
          // On failure: run `npm run docs` and commit the result.
          expect(have).toBe(renderRegion(file.format, name, tables));
        });
      }

      it('the address-types region names every type and every alias', () => {
        const text = region(file, 'address-types');
        for (const t of ADDRESS_TYPES) {
          expect(mentions(text, t.name), `type '${t.name}' missing from ${file.name}`).toBe(true);
          for (const alias of t.aliases) expect(mentions(text, alias), `alias '${alias}' of ${t.name} missing from ${file.name}`).toBe(true);
        }
      });

      it('the address-options region names every option and every alias', () => {
        const text = region(file, 'address-options');
        for (const o of ADDRESS_OPTIONS) {
          expect(mentions(text, o.name), `option '${o.name}' missing from ${file.name}`).toBe(true);
          for (const alias of o.aliases) expect(mentions(text, alias), `alias '${alias}' of ${o.name} missing from ${file.name}`).toBe(true);
        }
      });
    });
  }

  it('the regions are generated from every row of the registry tables', () => {
    expect(tables.types.map((r) => r.type)).toEqual(ADDRESS_TYPES.map((t) => t.name));
    expect(tables.options.map((r) => r.option)).toEqual(ADDRESS_OPTIONS.map((o) => o.name));
  });
});

const groff = spawnSync('groff', ['--version'], { encoding: 'utf8' });

describe('man/wirecat.1', () => {
  it.skipIf(groff.status !== 0)('renders with groff -man -ww without a warning', () => {
    const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', 'man/wirecat.1'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });
});
