import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, sha256, startWirecat, within } from './net-helpers.js';

afterEach(cleanup);

// --checksum: a file copied with `connect < f` and `listen > f` is verified
// by comparing the two sides' lines instead of running sha256sum on both hosts.
describe('--checksum', () => {
  it('listen and connect print matching sha256 lines with -v, equal to the bytes moved', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const hex = sha256(data);
    const empty = sha256(Buffer.alloc(0));
    const server = startWirecat(['-v', '--checksum', 'listen', '127.0.0.1', '0'], { stdin: 'ignore' });
    const port = await server.listeningPort();
    const client = startWirecat(['-v', '--checksum', 'connect', '127.0.0.1', String(port)]);
    client.child.stdin!.end(data);
    const [cExit, sExit] = await within(Promise.all([client.waitExit(), server.waitExit()]), 15_000, 'both ends exit');
    expect(cExit.code).toBe(0);
    expect(sExit.code).toBe(0);
    expect(sha256(server.stdout)).toBe(hex);
    expect(client.stderr).toContain(`\nsha256 sent ${hex}\n`);
    expect(client.stderr).toContain(`\nsha256 received ${empty}\n`);
    expect(server.stderr).toContain(`\nsha256 received ${hex}\n`);
    expect(server.stderr).toContain(`\nsha256 sent ${empty}\n`);
  });

  it('adds sha256Sent/sha256Received to the closed event and to --stats json', async () => {
    const data = Buffer.from('checksummed payload\n');
    const server = startWirecat(['--json', '--checksum', 'listen', '127.0.0.1', '0'], { stdin: 'ignore' });
    const port = Number((await server.waitEvent('listening')).port);
    const client = startWirecat(['--checksum', '--stats', 'json', 'connect', '127.0.0.1', String(port)]);
    client.child.stdin!.end(data);
    await within(Promise.all([client.waitExit(), server.waitExit()]), 15_000, 'both ends exit');
    const closed = server.events().find((e) => e.event === 'closed')!;
    expect(closed.sha256Received).toBe(sha256(data));
    expect(closed.sha256Sent).toBe(sha256(Buffer.alloc(0)));
    const stats = JSON.parse(client.stderr.trim().split('\n').pop()!) as { connections: { kind: string; extra: Record<string, string> }[] };
    const tcp = stats.connections.find((c) => c.kind === 'tcp')!;
    expect(tcp.extra.sha256Sent).toBe(sha256(data));
  });

  it('without --checksum there are no sha256 lines or fields', async () => {
    const server = startWirecat(['-v', '--json', 'listen', '127.0.0.1', '0'], { stdin: 'ignore' });
    const port = Number((await server.waitEvent('listening')).port);
    const client = startWirecat(['-v', 'connect', '127.0.0.1', String(port)]);
    client.child.stdin!.end('x');
    await within(Promise.all([client.waitExit(), server.waitExit()]), 15_000, 'both ends exit');
    expect(client.stderr).not.toContain('sha256');
    expect(server.events().find((e) => e.event === 'closed')).not.toHaveProperty('sha256Sent');
  });
});
