// The bare-Node reference relay: one connection, piped both ways, then exit.
// usage: node node-relay.mjs LISTEN_PORT TARGET_PORT
import net from 'node:net';

const [lport, tport] = process.argv.slice(2).map(Number);
const server = net.createServer({ allowHalfOpen: true }, (client) => {
  server.close();
  const upstream = net.connect({ port: tport, host: '127.0.0.1', allowHalfOpen: true });
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.pipe(upstream);
  upstream.pipe(client);
});
server.listen(lport, '127.0.0.1');
setTimeout(() => process.exit(0), 600_000).unref();
