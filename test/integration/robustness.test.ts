import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSocks5Datagram } from 'wirecat';
import { wirecat } from './helpers.js';
import { cleanup, startWirecat, within } from './net-helpers.js';

afterEach(cleanup);

// Found by review: inputs that used to crash the process or lose data.
describe('bad input never crashes', () => {
  it('relay file:<a directory> fails with one line and exit 1, not a stack trace', async () => {
    const r = await wirecat(['relay', 'file:/tmp', 'stdio']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("wirecat: relay: EISDIR: illegal operation on a directory, read (attempted address: /tmp)\n");
  });

  it('listen -o into a missing directory is a usage error (exit 2, one line)', async () => {
    const r = await wirecat(['listen', '-o', '/nonexistent/dir/x', '0']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("wirecat: listen: cannot open '/nonexistent/dir/x' for writing (-o): no such directory\n");
  });

  it('listen -u sends 200 KB of stdin read before the first datagram to that sender, split into datagrams', async () => {
    const data = randomBytes(200_000);
    const server = startWirecat(['--json', 'listen', '-u', '127.0.0.1', '0']);
    server.child.stdin!.write(data);
    const port = Number((await server.waitEvent('listening')).port);
    const sock = dgram.createSocket('udp4');
    const got: Buffer[] = [];
    let total = 0;
    const all = new Promise<void>((resolve) =>
      sock.on('message', (m) => {
        got.push(m);
        total += m.length;
        if (total >= data.length) resolve();
      }),
    );
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
    sock.send('hello', port, '127.0.0.1');
    await within(all, 10_000, 'all of stdin back as datagrams');
    sock.close();
    expect(got.every((m) => m.length <= 65_507)).toBe(true);
    expect(Buffer.concat(got).equals(data)).toBe(true);
    expect(server.stderr).not.toContain('Unhandled');
  });
});

describe('parseSocks5Datagram()', () => {
  it('a 4-byte datagram with ATYP 3 (domain) is malformed: undefined, no throw', () => {
    expect(parseSocks5Datagram(Buffer.from([0, 0, 0, 3]))).toBeUndefined();
  });
});
