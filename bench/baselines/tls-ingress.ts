/**
 * The TLS transport options side by side, with no storage behind them: the bare-ingress server
 * (uWS, POST /publish reads the body, JSON.parse, 200) served
 *   --mode plain     over plain HTTP,
 *   --mode uws-ssl   by uWS's own SSLApp (the build we install serves TLS here, though its README
 *                    says its binaries have none; it cannot require a client certificate),
 *   --mode node-tls  behind Node's tls in this process, piping to uWS on a Unix socket: the
 *                    design the service uses (src/http/tls-front.ts).
 * Usage: node --import tsx bench/baselines/tls-ingress.ts --mode M --cert C --key K [--port 0]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import uWS, { type TemplatedApp } from 'uWebSockets.js';
import { TlsFront } from '../../src/http/tls-front.js';

const { values } = parseArgs({ options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '0' }, mode: { type: 'string', default: 'plain' }, cert: { type: 'string', default: '' }, key: { type: 'string', default: '' } } });
const mode = values.mode;
if (mode !== 'plain' && mode !== 'uws-ssl' && mode !== 'node-tls') throw new Error(`--mode plain|uws-ssl|node-tls, not ${mode}`);

const app: TemplatedApp = mode === 'uws-ssl' ? uWS.SSLApp({ cert_file_name: values.cert, key_file_name: values.key }) : uWS.App();
app.post('/publish', (res) => {
  let aborted = false;
  const chunks: Buffer[] = [];
  res.onAborted(() => {
    aborted = true;
  });
  res.onData((chunk, isLast) => {
    chunks.push(Buffer.from(new Uint8Array(chunk)));
    if (!isLast || aborted) return;
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const body = `{"accepted":${Array.isArray(parsed) ? parsed.length : 1}}`;
    res.cork(() => res.writeStatus('200 OK').writeHeader('Content-Type', 'application/json').end(body));
  });
});

function announce(port: number): void {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port, mode })}\n`);
  process.on('SIGTERM', () => process.exit(0));
}

if (mode === 'node-tls') {
  const innerPath = join(mkdtempSync(join(tmpdir(), 'eoa-tls-bench-')), 'http.sock');
  app.listen_unix(() => {
    const front = new TlsFront({ host: values.host, port: Number(values.port), innerPath, certFile: values.cert, keyFile: values.key, clientCaFile: null, reloadMs: 0 });
    void front.listen().then(announce);
  }, innerPath);
} else {
  app.listen(values.host, Number(values.port), (socket) => {
    if (!socket) throw new Error('cannot listen');
    announce(uWS.us_socket_local_port(socket as unknown as uWS.us_socket));
  });
}
