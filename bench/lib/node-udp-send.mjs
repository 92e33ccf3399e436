// The bare-Node reference for `udp-send`: one datagram per stdin line.
// usage: node node-udp-send.mjs HOST PORT < lines
import dgram from 'node:dgram';
import readline from 'node:readline';

const [host, port] = process.argv.slice(2);
const sock = dgram.createSocket('udp4');
sock.connect(Number(port), host, async () => {
  let inflight = 0;
  let wake;
  for await (const line of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    inflight++;
    sock.send(line, () => { inflight--; wake?.(); });
    if (inflight >= 64) await new Promise((r) => (wake = r));
  }
  while (inflight > 0) await new Promise((r) => (wake = r));
  sock.close();
});
