/**
 * `wirecat unix PATH` / `wirecat unix --listen PATH`: nc -U.
 *
 * @module
 */

import type { Argv } from 'yargs';
import { UsageError } from '../core/errors.js';
import { netcatConnect, netcatListen } from '../core/netcat.js';
import { unixPathProblem } from '../core/tcp.js';
import type { CommandContext } from './context.js';

export const command = 'unix <path>';
export const describe = 'Connect to (or with --listen, serve) a Unix stream socket (nc -U); @name is abstract';

/** The flags of `unix`. */
export interface UnixArgs {
  path: string;
  listen?: boolean;
  keepOpen?: boolean;
  exec?: string;
  shExec?: string;
  mode?: string;
  unlinkStale?: boolean;
  sendOnly?: boolean;
  recvOnly?: boolean;
}

export function builder(y: Argv): Argv {
  return y
    .positional('path', { type: 'string', describe: 'socket path, or @name for the Linux abstract namespace' })
    .option('listen', { alias: 'l', type: 'boolean', describe: 'serve: accept a connection (the socket file is removed at exit)' })
    .option('keep-open', { alias: 'k', type: 'boolean', describe: 'with --listen: accept many' })
    .option('exec', { alias: 'e', type: 'string', requiresArg: true, describe: 'with --listen: run CMD (no shell) per connection' })
    .option('sh-exec', { alias: 'c', type: 'string', requiresArg: true, describe: 'with --listen: run CMD with /bin/sh per connection' })
    .option('mode', { type: 'string', requiresArg: true, describe: 'with --listen: permissions of the socket file (octal, e.g. 0600)' })
    .option('unlink-stale', { type: 'boolean', describe: 'with --listen: remove a stale socket first (never a file that is not a socket)' })
    .option('send-only', { type: 'boolean', describe: 'only send stdin' })
    .option('recv-only', { type: 'boolean', describe: 'only receive' })
    .conflicts('exec', 'sh-exec')
    .example('$0 unix /run/docker.sock', 'talk to a Unix socket')
    .example('$0 unix --listen --mode 0600 /tmp/app.sock', 'serve one connection, owner only')
    .example('$0 unix -l -k --exec cat @echo', 'an echo service in the abstract namespace');
}

export function run(ctx: CommandContext, a: UnixArgs): void {
  const path = String(a.path);
  if (path === '' || path === '@') throw new UsageError('missing socket path');
  const problem = unixPathProblem(path);
  if (problem !== undefined) throw new UsageError(problem);
  if (!a.listen && (a.keepOpen || a.exec !== undefined || a.shExec !== undefined || a.mode !== undefined || a.unlinkStale)) {
    throw new UsageError('-k, --exec, --sh-exec, --mode and --unlink-stale need --listen');
  }
  let mode: number | undefined;
  if (a.mode !== undefined) {
    if (!/^[0-7]{1,4}$/.test(String(a.mode))) throw new UsageError(`--mode takes octal permissions like 0600, not '${a.mode}'`);
    if (path.startsWith('@')) throw new UsageError('--mode does not apply to an abstract socket (@name has no file)');
    mode = parseInt(String(a.mode), 8);
  }
  if (!a.listen) {
    ctx.pending = netcatConnect(ctx.reactor, {
      unixPath: path,
      host: '',
      ports: [0],
      timeoutMs: ctx.globals.timeoutMs,
      idleTimeoutMs: ctx.globals.idleTimeoutMs,
      sendOnly: a.sendOnly,
      recvOnly: a.recvOnly,
      stdinIsTTY: ctx.stdinIsTTY,
      events: ctx.events,
      tap: ctx.tap,
    });
    return;
  }
  const exec =
    a.exec !== undefined
      ? (() => {
          const words = a.exec.trim().split(/\s+/).filter(Boolean);
          if (words.length === 0) throw new UsageError('--exec needs a command');
          return { file: words[0]!, args: words.slice(1) };
        })()
      : a.shExec !== undefined
        ? { file: '/bin/sh', args: ['-c', a.shExec] }
        : undefined;
  ctx.pending = netcatListen(ctx.reactor, {
    unixPath: path,
    unixMode: mode,
    unlinkStale: a.unlinkStale,
    port: 0,
    keepOpen: a.keepOpen,
    mode: exec ? 'exec' : 'stdio',
    exec,
    sendOnly: a.sendOnly,
    recvOnly: a.recvOnly,
    idleTimeoutMs: ctx.globals.idleTimeoutMs,
    events: ctx.events,
    tap: ctx.tap,
  });
}
