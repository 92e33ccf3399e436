#!/usr/bin/env node
// npm run build:binary: the standalone wirecat, a Node single executable
// application (SEA) built with Node 26's own `node --build-sea`.
//
//   1. Node 26 from the npm registry package node-<platform>-<arch>@26,
//      installed into a build folder (node_modules/.cache/wirecat-sea), not
//      as a dependency; a `strip`ped copy of it is the SEA's executable.
//   2. esbuild: src/sea.ts and everything it reaches as ONE CommonJS script
//      (dist/sea/wirecat.cjs); import.meta.url is defined from __filename
//      (yargs 18 is ESM-only and reads it); no real import() may remain.
//   3. The assets: man/wirecat.1 and the bash/zsh completion scripts, which
//      the bundle itself writes (run by Node 26) at build time.
//   4. dist/sea/sea-config.json -> node --build-sea -> dist/wirecat-<platform>-<arch>,
//      then dist/wirecat-<platform>-<arch>.tar.xz and dist/SHA256SUMS.
//
// The last line printed is the binary's absolute path.
//
// Options:
//   --entry FILE    bundle FILE instead of src/sea.ts (a test program)
//   --name NAME     output dist/sea/NAME-<platform>-<arch> (with --entry); no archive
//   --no-archive    skip the .tar.xz and SHA256SUMS (removes stale ones), for quick rebuilds
// Environment:
//   WIRECAT_NODE=/path/to/node   a Node 26 binary to use instead of installing one
//   WIRECAT_NODE_SPEC=26         the version range of the registry package (default 26)
//   SOURCE_DATE_EPOCH            the mtime recorded in the .tar.xz (default: 0)
//
// Only linux is built and tested here; the darwin and win32 branches follow
// docs/release.md (each target is built on its own runner).

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, createReadStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { lazyStringWidth } from './lazy-string-width.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const started = Date.now();

function arg(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const ENTRY = path.resolve(ROOT, arg('--entry') ?? 'src/sea.ts');
const MAIN_BUILD = arg('--entry') === undefined;
const NAME = arg('--name') ?? 'wirecat';
const ARCHIVE = MAIN_BUILD && !process.argv.includes('--no-archive');
const NODE_SPEC = process.env.WIRECAT_NODE_SPEC ?? '26';
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'wirecat-sea');
const SEA_DIR = path.join(ROOT, 'dist', 'sea');

function step(msg) {
  process.stderr.write(`build-binary: ${msg} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}
function fail(msg) {
  process.stderr.write(`build-binary: error: ${msg}\n`);
  process.exit(1);
}
function run(file, args, opts = {}) {
  const r = spawnSync(file, args, { encoding: 'utf8', ...opts });
  if (r.error) fail(`${file}: ${r.error.message}`);
  if (r.status !== 0) fail(`${file} ${args.join(' ')} exited ${r.status ?? r.signal}\n${r.stdout ?? ''}${r.stderr ?? ''}`);
  return r;
}

// 1. Node 26 --------------------------------------------------------------

/** The Node 26 binary: $WIRECAT_NODE, or node-<os>-<arch>@26 from the registry. */
function node26() {
  if (process.env.WIRECAT_NODE) return process.env.WIRECAT_NODE;
  const os = process.platform === 'win32' ? 'win' : process.platform;
  const name = `node-${os}-${process.arch}`;
  const dir = path.join(CACHE, 'node_modules', name);
  const binOf = () => {
    const p = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const rel = typeof p.bin === 'string' ? p.bin : p.bin?.node;
    return path.join(dir, rel ?? (process.platform === 'win32' ? 'node.exe' : 'bin/node'));
  };
  if (existsSync(path.join(dir, 'package.json')) && existsSync(binOf())) return binOf();
  step(`installing ${name}@${NODE_SPEC} from the npm registry into ${path.relative(ROOT, CACHE)}`);
  mkdirSync(CACHE, { recursive: true });
  // A build folder of its own, so that the project's package.json and lock file are not touched.
  writeFileSync(path.join(CACHE, 'package.json'), '{"private":true,"description":"build folder of bin/build-binary.mjs"}\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  run(npm, ['install', '--prefix', CACHE, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', `${name}@${NODE_SPEC}`], {
    stdio: ['ignore', 'inherit', 'inherit'],
    shell: process.platform === 'win32',
  });
  return binOf();
}

const NODE = node26();
const nodeVersion = run(NODE, ['--version']).stdout.trim();
if (!nodeVersion.startsWith(`v${NODE_SPEC.split('.')[0]}.`)) fail(`${NODE} is ${nodeVersion}, not Node ${NODE_SPEC}`);
const target = `${process.platform}-${process.arch}`;
const exe = process.platform === 'win32' ? '.exe' : '';
step(`node ${nodeVersion} ${target} (${NODE})`);

/** A copy of the Node binary to inject into: stripped, and unsigned on macOS/Windows. */
function executable() {
  const out = path.join(CACHE, `node-${nodeVersion}-${target}-base${exe}`);
  if (existsSync(out) && statSync(out).size > 0) return out;
  mkdirSync(CACHE, { recursive: true });
  const tmp = `${out}.tmp`;
  copyFileSync(NODE, tmp);
  chmodSync(tmp, 0o755);
  // Linux: the symbol table is a fifth of the binary. macOS and Windows
  // binaries come signed: the signature goes before injection (re-signed below / by the release job).
  if (process.platform === 'linux') run('strip', [tmp]);
  else if (process.platform === 'darwin') run('codesign', ['--remove-signature', tmp]);
  else if (process.platform === 'win32') run('signtool', ['remove', '/s', tmp]);
  copyFileSync(tmp, out);
  chmodSync(out, 0o755);
  rmSync(tmp);
  step(`base executable ${path.relative(ROOT, out)}: ${mib(statSync(NODE).size)} -> ${mib(statSync(out).size)}`);
  return out;
}

function mib(n) {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

// 2. The CommonJS bundle ---------------------------------------------------

// string-width's start-up cost: see bin/lazy-string-width.mjs.

mkdirSync(SEA_DIR, { recursive: true });
const bundle = path.join(SEA_DIR, `${NAME}.cjs`);
const result = await esbuild.build({
  plugins: [lazyStringWidth],
  entryPoints: [ENTRY],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: `node${nodeVersion.slice(1).split('.')[0]}`,
  // In a SEA, __filename is the executable's path; createRequire() of it
  // loads built-ins, which is all the bundle requires.
  banner: { js: 'var __wcImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  define: {
    'import.meta.url': '__wcImportMetaUrl',
    __WIRECAT_VERSION__: JSON.stringify(pkg.version),
  },
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'silent',
});
for (const w of result.warnings) {
  // yargs reads import.meta.resolve only for `extends` in a config file, which wirecat does not use.
  if (/"import\.meta" is not available/.test(w.text) && /apply-extends/.test(w.location?.file ?? '')) continue;
  process.stderr.write(`build-binary: esbuild warning: ${w.text} (${w.location?.file}:${w.location?.line})\n`);
}

// Everything must be in the bundle: a SEA's require() loads built-ins only.
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
for (const [, out] of Object.entries(result.metafile.outputs)) {
  for (const imp of out.imports ?? []) {
    if (imp.external && !builtins.has(imp.path)) fail(`the bundle needs '${imp.path}' at run time, which a single executable cannot load`);
  }
}
// No real import(): it fails under the SEA's code cache. esbuild turns the
// lazy import()s of bundled modules into initialiser calls; any left would
// be external or computed.
const code = readFileSync(bundle, 'utf8');
const dynamic = [...code.matchAll(/(?<![\w$.])import\s*\(/g)].map((m) => code.slice(Math.max(0, m.index - 40), m.index + 60).replace(/\s+/g, ' '));
if (dynamic.length > 0) fail(`real import() left in ${path.relative(ROOT, bundle)}:\n  ${dynamic.join('\n  ')}`);
if (/\bimport\.meta\b/.test(code)) fail(`import.meta left in ${path.relative(ROOT, bundle)}`);
step(`bundle ${path.relative(ROOT, bundle)}: ${(code.length / 1024).toFixed(0)} KiB, CommonJS, no import()`);

// 3. Assets ----------------------------------------------------------------

const assets = {};
if (MAIN_BUILD) {
  const manFile = path.join(ROOT, 'man', 'wirecat.1');
  if (!existsSync(manFile)) fail('man/wirecat.1 is missing');
  assets['wirecat.1'] = manFile;
  // The bundle writes its own completion scripts (yargs decides bash or zsh from $SHELL).
  for (const shell of ['bash', 'zsh']) {
    const env = { ...process.env, SHELL: `/bin/${shell}` };
    delete env.ZSH_NAME;
    delete env.NODE_OPTIONS;
    const r = run(NODE, [bundle, 'completion'], { env, cwd: SEA_DIR });
    if (r.stderr !== '') fail(`'${bundle} completion' wrote on stderr:\n${r.stderr}`);
    if (!r.stdout.includes('--get-yargs-completions')) fail(`'${bundle} completion' printed no ${shell} completion script`);
    const file = path.join(SEA_DIR, `completion.${shell}`);
    writeFileSync(file, r.stdout);
    assets[`completion.${shell}`] = file;
  }
  step(`assets: ${Object.keys(assets).join(', ')}`);
}

// 4. The single executable ---------------------------------------------------

const output = MAIN_BUILD ? path.join(ROOT, 'dist', `wirecat-${target}${exe}`) : path.join(SEA_DIR, `${NAME}-${target}${exe}`);
const config = {
  main: bundle,
  mainFormat: 'commonjs',
  executable: executable(),
  output,
  disableExperimentalSEAWarning: true,
  useSnapshot: false,
  useCodeCache: true,
  assets,
};
const configFile = path.join(SEA_DIR, `${NAME}-sea-config.json`);
writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
rmSync(output, { force: true });
const sea = run(NODE, ['--build-sea', configFile], { env: { ...process.env, NODE_OPTIONS: '' } });
for (const line of `${sea.stdout}${sea.stderr}`.split('\n')) if (line.trim() !== '') process.stderr.write(`build-binary: node --build-sea: ${line}\n`);
if (!existsSync(output)) fail(`node --build-sea made no ${output}`);
chmodSync(output, 0o755);
if (process.platform === 'darwin') run('codesign', ['--sign', process.env.WIRECAT_CODESIGN_IDENTITY ?? '-', output]);

// It must run, say its version and nothing else.
const probe = run(output, ['--version'], { cwd: SEA_DIR, env: { ...process.env, NODE_OPTIONS: '' } });
if (MAIN_BUILD && (probe.stdout !== `${pkg.version}\n` || probe.stderr !== '')) {
  fail(`${output} --version printed ${JSON.stringify(probe.stdout)} / stderr ${JSON.stringify(probe.stderr)}`);
}
step(`${path.relative(ROOT, output)}: ${mib(statSync(output).size)}`);

// 5. Archive and checksums -----------------------------------------------------

function sha256(file) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (b) => h.update(b))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

const archive = `${output}.tar.xz`;
const sumsFile = path.join(path.dirname(output), 'SHA256SUMS');
if (MAIN_BUILD) for (const f of [archive, sumsFile]) rmSync(f, { force: true });
if (ARCHIVE && process.platform !== 'win32') {
  const base = path.basename(output);
  const mtime = `@${process.env.SOURCE_DATE_EPOCH ?? '0'}`;
  // Reproducible: fixed order, owner and mtime; xz with a fixed thread count.
  const tar = execFileSync('tar', ['-C', path.dirname(output), '--sort=name', `--mtime=${mtime}`, '--owner=0', '--group=0', '--numeric-owner', '-cf', '-', base], {
    maxBuffer: 1 << 30,
  });
  const xz = spawnSync('xz', ['-6', '-T2', '-c'], { input: tar, maxBuffer: 1 << 30 });
  if (xz.status !== 0) fail(`xz failed: ${xz.stderr}`);
  writeFileSync(archive, xz.stdout);
  const sums = [];
  for (const f of [output, archive]) sums.push(`${await sha256(f)}  ${path.basename(f)}\n`);
  writeFileSync(sumsFile, sums.join(''));
  step(`${path.relative(ROOT, archive)}: ${mib(statSync(archive).size)}; dist/SHA256SUMS`);
}

process.stdout.write(`${output}\n`);
