/**
 * Load a Node built-in module on first use rather than at start-up, so that
 * `wirecat --version` and plain TCP one-liners do not pay for `tls` or
 * `crypto`.
 *
 * @module
 */

import { createRequire } from 'node:module';

const _require = createRequire(import.meta.url);

/** `node:tls`, loaded on first call. */
export function loadTLS(): typeof import('node:tls') {
  return _require('node:tls') as typeof import('node:tls');
}

/** `node:crypto`, loaded on first call. */
export function loadCrypto(): typeof import('node:crypto') {
  return _require('node:crypto') as typeof import('node:crypto');
}

/** `node:child_process`, loaded on first call (most commands never start a program). */
export function loadChildProcess(): typeof import('node:child_process') {
  return _require('node:child_process') as typeof import('node:child_process');
}
