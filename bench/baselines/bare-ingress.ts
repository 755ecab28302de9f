/**
 * ingress-limit baseline, run as its own process: a bare uWebSockets.js server whose POST /publish
 * reads the body, JSON.parse-s it and answers 200, storing nothing. Prints a "listening" JSON line.
 * Usage: node --import tsx bench/baselines/bare-ingress.ts [--host 127.0.0.1] [--port 0]
 */
import uWS from 'uWebSockets.js';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '0' } } });

const app = uWS
  .App()
  .post('/publish', (res) => {
    let aborted = false;
    const chunks: Buffer[] = [];
    res.onAborted(() => {
      aborted = true;
    });
    res.onData((chunk, isLast) => {
      chunks.push(Buffer.from(new Uint8Array(chunk))); // uWS only lends the chunk: copy it
      if (!isLast || aborted) return;
      let status = '200 OK';
      let body: string;
      try {
        const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const accepted = Array.isArray(parsed) ? parsed.length : 1;
        body = `{"accepted":${accepted}}`;
      } catch {
        status = '400 Bad Request';
        body = '{"error":"invalid JSON"}';
      }
      res.cork(() => {
        res.writeStatus(status).writeHeader('Content-Type', 'application/json').end(body);
      });
    });
  })
  .any('/*', (res) => {
    res.writeStatus('404 Not Found').end();
  });

app.listen(values.host, Number(values.port), (socket) => {
  if (!socket) {
    process.stderr.write(`cannot listen on ${values.host}:${values.port}\n`);
    process.exit(1);
  }
  const port = uWS.us_socket_local_port(socket as unknown as uWS.us_socket);
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port })}\n`);
  const stop = (): void => {
    uWS.us_listen_socket_close(socket);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
});
