/**
 * The entry of the standalone binary (a Node single executable application
 * built by bin/build-binary.mjs), bundled as one CommonJS script.
 *
 * As bin/wirecat does for Node, `--version` is answered here before the
 * command line is loaded: the CLI is reached through `import()`, which the
 * bundler turns into a lazy initialiser (no real `import()` is left; it
 * does not work under the SEA code cache), so none of it runs for
 * `--version`.
 *
 * @module
 */

declare const __WIRECAT_VERSION__: string | undefined;

// Nothing experimental is used, and the SEA warning is disabled in the
// config; should a Node release start warning about something wirecat
// touches, the user should still not see it (issue #10: never on stderr).
const emitWarning = process.emitWarning;
process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]): void {
  const opt = rest[0];
  const type = typeof opt === 'string' ? opt : (opt as { type?: string } | undefined)?.type;
  if (type === 'ExperimentalWarning' || (warning instanceof Error && warning.name === 'ExperimentalWarning')) return;
  (emitWarning as (...a: unknown[]) => void).call(this, warning, ...rest);
} as typeof process.emitWarning;

const args = process.argv.slice(2);
const VERSION = new Set(['--version', '-V']);
const VERBOSE = new Set(['-v', '--verbose']);
if (args.length > 0 && args.some((a) => VERSION.has(a)) && args.every((a) => VERSION.has(a) || VERBOSE.has(a))) {
  const v = typeof __WIRECAT_VERSION__ === 'string' ? __WIRECAT_VERSION__ : '0.0.0-dev';
  const runtime = args.some((a) => VERBOSE.has(a)) ? `node ${process.version} ${process.platform}-${process.arch}\n` : '';
  process.stdout.write(`${v}\n${runtime}`);
} else {
  void import('./cli.js').then((m) => m.main(args));
}
