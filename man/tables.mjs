/**
 * The address tables of the man page and the README, built from the
 * registry's rows (`addressTypesTable()`, `addressOptionsTable()`), and the
 * marker comments that delimit them in each file.
 *
 * Pure functions of their arguments: `man/generate.mjs` feeds them the rows
 * of the built library (`dist/`), `test/docs.test.ts` the rows of `src/`, and
 * both compare the files' regions with what these functions give.
 *
 * @module
 */

/** The generated regions, in the order they appear in each file. */
export const REGIONS = ['address-types', 'address-options'];

/**
 * The marker lines of a region.
 *
 * @param {'man' | 'md'} format The file's format.
 * @param {string} region One of {@link REGIONS}.
 * @returns {{ begin: string, end: string }}
 */
export function markers(format, region) {
  return format === 'man'
    ? { begin: `.\\" BEGIN GENERATED ${region}`, end: `.\\" END GENERATED ${region}` }
    : { begin: `<!-- BEGIN GENERATED ${region} -->`, end: `<!-- END GENERATED ${region} -->` };
}

// ---------------------------------------------------------------- roff

/**
 * Escape text for a roff text line: backslashes, hyphens as minus signs
 * (so that option names and commands copy and paste), and a leading `.` or
 * `'` that would read as a request.
 *
 * @param {string} s Plain text.
 * @returns {string}
 */
export function roffEscape(s) {
  const t = s.replace(/\\/g, '\\e').replace(/-/g, '\\-');
  return /^[.']/.test(t) ? `\\&${t}` : t;
}

/** Bold literal text, which may break after a comma (`\\:`) when it is too long for a line. */
function _b(s) {
  return `\\fB${roffEscape(s).replace(/,/g, ',\\:')}\\fR`;
}

/**
 * Syntax such as `tcp-listen:[HOST:]PORT` or `bind=ADDR[:PORT]`: literal
 * parts bold, upper-case placeholders italic, `[`, `]` and `|` roman.
 */
function _syntax(s) {
  let out = '';
  for (const m of s.matchAll(/([A-Z][A-Z0-9]*)|([[\]|])|([^A-Z[\]|]+)/g)) {
    if (m[1] !== undefined) out += `\\fI${m[1]}\\fR`;
    else if (m[2] !== undefined) out += m[2];
    else out += _b(m[3]);
  }
  return out;
}

/** First letter up, a full stop at the end. */
function _sentence(s) {
  const t = s.trim();
  const up = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(up) ? up : `${up}.`;
}

/** `a, b and c` of already formatted items. */
function _list(items) {
  return items.join(', ');
}

/**
 * The man page's address types region: one tagged paragraph per type.
 *
 * @param {ReadonlyArray<{type: string, aliases: string[], syntax: string, help: string, listens: boolean, options: string[], examples: string[]}>} rows
 *   The rows of `addressTypesTable()`.
 * @returns {string} roff lines, without a final newline.
 */
export function manTypesTable(rows) {
  const lines = [];
  for (const r of rows) {
    lines.push('.TP', _syntax(r.syntax), roffEscape(_sentence(r.help)));
    if (r.aliases.length > 0) lines.push(`Aliases: ${_list(r.aliases.map(_b))}.`);
    if (r.options.length > 0) lines.push(`Options: ${_list(r.options.map(_b))}.`);
    if (r.examples.length > 0) {
      lines.push(`Example${r.examples.length > 1 ? 's' : ''}:`);
      for (const e of r.examples) lines.push('.br', _b(e));
    }
  }
  return lines.join('\n');
}

/**
 * The man page's address options region: one tagged paragraph per option.
 *
 * @param {ReadonlyArray<{option: string, aliases: string[], syntax: string, kind: string, repeatable: boolean, help: string, types: string[]}>} rows
 *   The rows of `addressOptionsTable()`.
 * @returns {string} roff lines, without a final newline.
 */
export function manOptionsTable(rows) {
  const lines = [];
  for (const r of rows) {
    lines.push('.TP', _syntax(r.syntax), roffEscape(_sentence(r.help)));
    if (r.repeatable) lines.push('May be given more than once.');
    if (r.aliases.length > 0) lines.push(`Aliases: ${_list(r.aliases.map(_b))}.`);
    lines.push(r.types.length > 0 ? `Types: ${_list(r.types.map(_b))}.` : 'Types: none yet.');
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- Markdown

/** Text for a Markdown table cell: pipes escaped, no line breaks. */
function _cell(s) {
  return s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

/** A code span for a table cell. */
function _code(s) {
  return `\`${_cell(s)}\``;
}

/**
 * The README's address types region: a Markdown table.
 *
 * @param {Parameters<typeof manTypesTable>[0]} rows The rows of `addressTypesTable()`.
 * @returns {string} Markdown lines, without a final newline.
 */
export function mdTypesTable(rows) {
  const lines = ['| address | aliases (socat) | what | options |', '| --- | --- | --- | --- |'];
  for (const r of rows) {
    lines.push(
      `| ${_code(r.syntax)} | ${r.aliases.map(_code).join(', ')} | ${_cell(r.help)} | ${r.options.map(_code).join(', ')} |`,
    );
  }
  return lines.join('\n');
}

/**
 * The README's address options region: a Markdown table.
 *
 * @param {Parameters<typeof manOptionsTable>[0]} rows The rows of `addressOptionsTable()`.
 * @returns {string} Markdown lines, without a final newline.
 */
export function mdOptionsTable(rows) {
  const lines = ['| option | aliases | on | what |', '| --- | --- | --- | --- |'];
  for (const r of rows) {
    const help = r.repeatable ? `${r.help} (repeatable)` : r.help;
    lines.push(`| ${_code(r.syntax)} | ${r.aliases.map(_code).join(', ')} | ${r.types.map(_code).join(', ')} | ${_cell(help)} |`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- regions

/**
 * What a region of a file should hold.
 *
 * @param {'man' | 'md'} format The file's format.
 * @param {string} region One of {@link REGIONS}.
 * @param {{ types: Parameters<typeof manTypesTable>[0], options: Parameters<typeof manOptionsTable>[0] }} tables
 *   The registry's rows.
 * @returns {string} The region's lines, without a final newline.
 */
export function renderRegion(format, region, tables) {
  if (region === 'address-types') return format === 'man' ? manTypesTable(tables.types) : mdTypesTable(tables.types);
  if (region === 'address-options') return format === 'man' ? manOptionsTable(tables.options) : mdOptionsTable(tables.options);
  throw new Error(`unknown generated region '${region}'`);
}

/**
 * Where a region is in `text`, as line numbers.
 *
 * @param {string[]} lines The file's lines.
 * @param {'man' | 'md'} format Its format.
 * @param {string} region The region.
 * @returns {{ begin: number, end: number } | undefined} The indexes of the
 *   begin and end marker lines, or undefined when one is missing or they
 *   are out of order.
 */
function _locate(lines, format, region) {
  const m = markers(format, region);
  const begin = lines.indexOf(m.begin);
  if (begin < 0) return undefined;
  const end = lines.indexOf(m.end, begin + 1);
  return end < 0 ? undefined : { begin, end };
}

/**
 * The current content of a region.
 *
 * @param {string} text The file.
 * @param {'man' | 'md'} format Its format.
 * @param {string} region The region.
 * @returns {string | undefined} The lines between the markers, joined with
 *   newlines (no final one), or undefined when the markers are missing.
 */
export function extractRegion(text, format, region) {
  const lines = text.split('\n');
  const at = _locate(lines, format, region);
  return at === undefined ? undefined : lines.slice(at.begin + 1, at.end).join('\n');
}

/**
 * `text` with every region replaced by what the registry gives; the marker
 * lines and everything outside them are kept as they are.
 *
 * @param {string} text The file.
 * @param {'man' | 'md'} format Its format.
 * @param {Parameters<typeof renderRegion>[2]} tables The registry's rows.
 * @returns {string} The new text.
 * @throws {Error} When a region's markers are missing.
 */
export function regenerate(text, format, tables) {
  const lines = text.split('\n');
  for (const region of REGIONS) {
    const at = _locate(lines, format, region);
    if (at === undefined) {
      const { begin, end } = markers(format, region);
      throw new Error(`markers of region '${region}' not found (expected a line '${begin}' and, after it, a line '${end}')`);
    }
    const content = renderRegion(format, region, tables);
    lines.splice(at.begin + 1, at.end - at.begin - 1, ...(content === '' ? [] : content.split('\n')));
  }
  return lines.join('\n');
}

/**
 * Turn roff text into plain text, roughly as it renders: font changes and
 * `\&` dropped, `\-` and `\e` as `-` and `\`. For checks on the man page.
 *
 * @param {string} s roff.
 * @returns {string}
 */
export function roffToText(s) {
  return s
    .replace(/\\f[BIRP]/g, '')
    .replace(/\\[&:]/g, '')
    .replace(/\\-/g, '-')
    .replace(/\\e/g, '\\');
}
