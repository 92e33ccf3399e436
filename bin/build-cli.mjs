// `npm run build:cli`: the command line as CommonJS in dist/cli/, loaded by
// bin/wirecat (also CommonJS, see bin/package.json). CommonJS because
// Node 20 starts an ES module program about 5 ms later than a CommonJS one
// (its ESM loader), and because one file is cheaper to load than the many
// chunks of an ESM code split.
//
//   cli.cjs         src/cli.ts: the CLI, every command, the core
//   cliparser.cjs   src/cliparser.ts: yargs and the parser; required only
//                   when the quick parser (src/fastparse.ts) declines
//   ora.cjs, cli-table3.cjs, node-forge.cjs
//                   required only when a spinner starts, a table is
//                   rendered or a certificate is generated
//
// Each file is self-contained; none keeps state the others share (the
// parser gets the command modules from cli.cjs as arguments).
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { lazyStringWidth } from './lazy-string-width.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const version = process.env.npm_package_version ?? JSON.parse((await import('node:fs')).readFileSync(`${ROOT}package.json`, 'utf8')).version;

/** The files required lazily, by the specifier the sources use. */
const LAZY = { './cliparser.js': 'cliparser', ora: 'ora', 'cli-table3': 'cli-table3', 'node-forge': 'node-forge' };
const lazyFiles = {
  name: 'lazy-files',
  setup(build) {
    build.onResolve({ filter: /^(\.\/cliparser\.js|ora|cli-table3|node-forge)$/ }, (args) => {
      if (args.pluginData?.entry) return undefined;
      return { path: `./${LAZY[args.path]}.cjs`, external: true };
    });
  },
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // import() of a lazy file becomes a require() when it is needed (an ESM import() would start the ESM loader).
  supported: { 'dynamic-import': false },
  banner: { js: 'var __wcImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  define: { 'import.meta.url': '__wcImportMetaUrl', __WIRECAT_VERSION__: JSON.stringify(version) },
  logLevel: 'warning',
};

rmSync(`${ROOT}dist/cli`, { recursive: true, force: true });
await esbuild.build({ ...common, plugins: [lazyStringWidth, lazyFiles], entryPoints: { cli: `${ROOT}src/cli.ts` }, outdir: `${ROOT}dist/cli`, outExtension: { '.js': '.cjs' } });
await esbuild.build({ ...common, plugins: [lazyStringWidth], entryPoints: { cliparser: `${ROOT}src/cliparser.ts` }, outdir: `${ROOT}dist/cli`, outExtension: { '.js': '.cjs' } });
// `import('x')` becomes `require('./x.cjs')` with module.exports as the default export: for ora (an ES module) that is its default.
for (const [pkg, exported] of [['ora', '.default'], ['cli-table3', ''], ['node-forge', '']]) {
  await esbuild.build({
    ...common,
    plugins: [lazyStringWidth],
    stdin: { contents: `module.exports = require(${JSON.stringify(pkg)})${exported};`, resolveDir: ROOT, loader: 'js' },
    outfile: `${ROOT}dist/cli/${pkg}.cjs`,
  });
}
