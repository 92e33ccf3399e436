// The bare-Node reference relay: piped both ways. One connection then exit,
// or with --many every connection (the reference for conn/s and memory).
// usage: node node-relay.mjs LISTEN_PORT TARGET_PORT [--many]
import net from 'node:net';

const [lport, tport] = process.argv.slice(2).map(Number);
const many = process.argv.includes('--many');
const server = net.createServer({ allowHalfOpen: true }, (client) => {
  if (!many) server.close();
  const upstream = net.connect({ port: tport, host: '127.0.0.1', allowHalfOpen: true });
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.pipe(upstream);
  upstream.pipe(client);
});
server.listen({ port: lport, host: '127.0.0.1', backlog: 1024 });
setTimeout(() => process.exit(0), 600_000).unref();
