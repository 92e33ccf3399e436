// The bare-Node reference for `nc -N HOST PORT`: stdin piped to a socket.
// usage: node node-connect.mjs HOST PORT
import net from 'node:net';

const [host, port] = process.argv.slice(2);
const s = net.connect({ host, port: Number(port) }, () => process.stdin.pipe(s));
s.on('error', (e) => { console.error(e.message); process.exit(1); });
s.resume();
s.on('close', () => process.exit(0));
