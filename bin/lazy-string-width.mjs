// An esbuild plugin shared by the CLI bundle (bin/build-cli.mjs) and the
// standalone binary's (bin/build-binary.mjs).
//
// string-width 7/8 (yargs, cliui, wrap-ansi, ora) create an Intl.Segmenter
// and Unicode-property regular expressions when loaded: about 20 ms of the
// start-up of every command, help or not. In front of each ESM copy this
// puts a module that answers printable ASCII itself (width = length, as
// string-width 8's own fast path) and loads the real one, lazily, for
// anything else. cli-table3's string-width 4 (CommonJS) is left alone.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The plugin. */
export const lazyStringWidth = {
  name: 'lazy-string-width',
  setup(build) {
    build.onResolve({ filter: /^string-width$/ }, async (args) => {
      if (args.pluginData?.real) return undefined;
      const real = await build.resolve('string-width', { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: { real: true } });
      if (real.errors.length > 0 || !/\.m?js$/.test(real.path)) return undefined;
      const pkgFile = path.join(path.dirname(real.path), 'package.json');
      if (!existsSync(pkgFile) || JSON.parse(readFileSync(pkgFile, 'utf8')).type !== 'module') return undefined;
      return { path: real.path, namespace: 'lazy-string-width' };
    });
    build.onLoad({ filter: /.*/, namespace: 'lazy-string-width' }, (args) => ({
      resolveDir: ROOT,
      loader: 'js',
      contents: `let real;
export default function stringWidth(string, options) {
  if (typeof string !== 'string' || string.length === 0) return 0;
  if (/^[\\u0020-\\u007E]*$/.test(string)) return string.length;
  real ??= require(${JSON.stringify(args.path)}).default;
  return real(string, options);
}
`,
    }));
  },
};
