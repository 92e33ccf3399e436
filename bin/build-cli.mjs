// `npm run build:cli`: the command line as CommonJS in dist/cli/, loaded by
// bin/wirecat (also CommonJS, see bin/package.json). CommonJS because
// Node 20 starts an ES module program about 5 ms later than a CommonJS one
// (its ESM loader), and because one file is cheaper to load than the many
// chunks of an ESM code split.
//
//   cli.cjs         src/cli.ts: the CLI, every command, the core
//   cmd-NAME.cjs    the same for one command only (ONE_COMMAND below), about
//                   half the size; bin/wirecat loads it when the first word
//                   that is not an option is NAME, and it hands any other
//                   command line (`-w 5 NAME`, completion) to cli.cjs
//   cliparser.cjs   src/cliparser.ts: yargs and the parser; required only
//                   when the quick parser (src/fastparse.ts) declines
//   ora.cjs, cli-table3.cjs, node-forge.cjs
//                   required only when a spinner starts, a table is
//                   rendered or a certificate is generated
//
// Each file is self-contained; none keeps state the others share (the
// parser gets the command modules from cli.cjs as arguments).
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { lazyStringWidth } from './lazy-string-width.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const version = process.env.npm_package_version ?? JSON.parse((await import('node:fs')).readFileSync(`${ROOT}package.json`, 'utf8')).version;

/** Commands with a bundle of their own: the one-shot ones, whose start-up is a large part of their run. */
const ONE_COMMAND = ['udp-send', 'connect', 'tls-client', 'multicast-join'];

/** The command names, in src/commands/index.ts's order. */
const NAMES = [...readFileSync(`${ROOT}src/commands/index.ts`, 'utf8').matchAll(/^ {2}'?([a-z-]+)'?: \(\) => import\('\.\/([a-z-]+)\.js'\),$/gm)].map((m) => m[1]);
if (NAMES.length < 8 || ONE_COMMAND.some((n) => !NAMES.includes(n))) throw new Error(`build-cli: cannot read the commands of src/commands/index.ts (found ${NAMES.join(', ')})`);

/** The registry of a one-command bundle: that module, and no other. */
function onlyCommand(name) {
  return {
    name: 'only-command',
    setup(build) {
      build.onResolve({ filter: /^\.\/commands\/index\.js$/ }, () => ({ path: 'registry', namespace: 'only-command' }));
      build.onLoad({ filter: /.*/, namespace: 'only-command' }, () => ({
        resolveDir: `${ROOT}src/commands`,
        loader: 'js',
        contents: `import * as m from './${name}.ts';
const elsewhere = () => Promise.reject(new Error('wirecat: this bundle has only the ${name} command'));
export const COMMANDS = { ${NAMES.map((n) => `${JSON.stringify(n)}: ${n === name ? '() => Promise.resolve(m)' : 'elsewhere'}`).join(', ')} };
`,
      }));
    },
  };
}

/** The files required lazily, by the specifier the sources use. */
const LAZY = { './cliparser.js': 'cliparser', ora: 'ora', 'cli-table3': 'cli-table3', 'node-forge': 'node-forge' };
const lazyFiles = {
  name: 'lazy-files',
  setup(build) {
    build.onResolve({ filter: /^\.\/cli\.cjs$/ }, (args) => ({ path: args.path, external: true }));
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
for (const name of ONE_COMMAND) {
  await esbuild.build({
    ...common,
    plugins: [lazyStringWidth, lazyFiles, onlyCommand(name)],
    stdin: {
      contents: `import { commandOf, main as run } from './src/cli.ts';
export function main(argv) {
  if (commandOf(argv) === ${JSON.stringify(name)}) run(argv);
  else require('./cli.cjs').main(argv);
}
`,
      resolveDir: ROOT,
      loader: 'ts',
    },
    outfile: `${ROOT}dist/cli/cmd-${name}.cjs`,
  });
}
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
