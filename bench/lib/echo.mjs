// A bare-Node echo server: the backend when the C echod cannot be built.
// usage: node echo.mjs PORT
import net from 'node:net';

const port = Number(process.argv[2]);
net.createServer({ allowHalfOpen: true }, (s) => { s.on('error', () => s.destroy()); s.pipe(s); })
  .listen({ port, host: '127.0.0.1', backlog: 1024 });
setTimeout(() => process.exit(0), 900_000).unref();
