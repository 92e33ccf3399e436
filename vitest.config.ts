import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests import the library by its public name, as a user would; the aliases
// point those names at the barrels in src/ so failures map to source lines.
// test/integration/package.test.ts checks the built package's own exports.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^wirecat\/testing$/, replacement: fileURLToPath(new URL('./src/testing.ts', import.meta.url)) },
      { find: /^wirecat$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
