// `npm run build:cli`: the CLI as one code-split ESM bundle in dist/cli/,
// loaded by bin/wirecat. Lazily used modules (ora, cli-table3, node-forge)
// land in their own chunks, so start-up does not parse them.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { lazyStringWidth } from './lazy-string-width.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const version = process.env.npm_package_version ?? JSON.parse((await import('node:fs')).readFileSync(`${ROOT}package.json`, 'utf8')).version;

rmSync(`${ROOT}dist/cli`, { recursive: true, force: true });
await esbuild.build({
  plugins: [lazyStringWidth],
  entryPoints: [`${ROOT}src/cli.ts`],
  outdir: `${ROOT}dist/cli`,
  bundle: true,
  splitting: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  chunkNames: '[name]-[hash]',
  define: { __WIRECAT_VERSION__: JSON.stringify(version) },
  banner: { js: "import{createRequire as __wcRequire}from'node:module';const require=__wcRequire(import.meta.url);" },
  logLevel: 'warning',
});
