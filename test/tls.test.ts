/**
 * HTTPS on both listeners (--tls-cert/--tls-key), driven by clients nobody here wrote: curl, the
 * Elasticsearch client, the OpenTelemetry exporter and syslog-ng, each trusting only the test CA.
 * Mutual TLS (--tls-client-ca) refuses a client without a certificate and one with an untrusted
 * certificate; a renewed certificate is served to new connections without a restart.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import WebSocket from 'ws';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { makeCertificates, pem, signedCertificate, type CertificateFiles } from '../harness/certificates.js';
import { spawnTracked, stopChild } from '../harness/children.js';
import { runNode } from '../harness/server.js';
import { missingCommand } from '../harness/tools.js';
import { event, makeTempDir, startServer, stats, waitFor, type TestServer } from './helper.js';

const run = promisify(execFile);

interface HttpsAnswer {
  readonly status: number;
  readonly text: string;
}

interface ClientIdentity {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

function https(url: string, identity: ClientIdentity, method = 'GET', body?: string): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, { method, ...identity, agent: false, headers: body ? { 'content-type': 'application/json' } : {} }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** The serial number of the certificate a new connection is served. */
function servedSerial(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.on('error', reject);
  });
}

const skip = missingCommand('openssl', ['version']) ?? false;

describe('TLS on both listeners', { skip }, () => {
  let certificates: CertificateFiles;
  let server: TestServer;
  let base: string;
  let ca: Buffer;
  before(async () => {
    certificates = makeCertificates(await makeTempDir('aggregator-tls-'));
    ca = pem(certificates.caCert);
    server = await startServer({ args: ['--tls-cert', certificates.serverCert, '--tls-key', certificates.serverKey, '--elasticsearch-port', '0', '--tls-reload-ms', '100'] });
    base = `https://127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server?.stop();
  });

  test('curl publishes and reads over https, verifying the certificate; plain HTTP on the port gets no answer', async () => {
    assert.equal(server.listening.tls, true, 'the listening line says so');
    const body = JSON.stringify([event({ topic: 'tls.curl', event_id: 'a' }), event({ topic: 'tls.curl', event_id: 'a' }), event({ topic: 'tls.curl', event_id: 'b' })]);
    const published = await run('curl', ['-sS', '--fail-with-body', '--cacert', certificates.caCert, '-H', 'content-type: application/json', '--data-binary', body, `${base}/publish`]);
    assert.deepEqual(JSON.parse(published.stdout), { accepted: 3, unique: 2, duplicates: 1 });
    const health = await run('curl', ['-sS', '--cacert', certificates.caCert, `https://localhost:${server.port}/health`]);
    assert.equal(JSON.parse(health.stdout).status, 'ok', 'the certificate names localhost too');
    await assert.rejects(run('curl', ['-sS', `${base}/health`]), /certificate/, 'curl without the CA refuses the certificate');
    await assert.rejects(run('curl', ['-sS', '--max-time', '5', `http://127.0.0.1:${server.port}/health`]), 'plain HTTP to the TLS port');
    assert.equal((await https(`${base}/health`, { ca })).status, 200, 'the service is unharmed');
    // WebSockets (/tail, /groups/…/consume) go through the same listener: wss://.
    const socket = new WebSocket(`wss://127.0.0.1:${server.port}/tail?topic=tls.wss`, { ca });
    const first = new Promise<string>((resolve, reject) => {
      socket.once('message', (data) => resolve(String(data)));
      socket.once('error', reject);
    });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    assert.equal((await https(`${base}/publish`, { ca }, 'POST', JSON.stringify(event({ topic: 'tls.wss', event_id: 'live' })))).status, 200);
    const message = JSON.parse(await first) as { events: { event_id: string }[] };
    socket.close();
    assert.deepEqual(message.events.map((item) => item.event_id), ['live'], 'wss:// /tail delivers the live event');
  });

  test('the Elasticsearch client over https, on /es and on the --elasticsearch-port listener', async () => {
    const esPort = server.listening.elasticsearchPort as number;
    for (const node of [`${base}/es`, `https://127.0.0.1:${esPort}`]) {
      const client = new Client({ node, tls: { ca } });
      try {
        assert.equal((await client.info()).tagline, 'You Know, for Search');
        const result = await client.bulk({ operations: [{ create: { _index: 'tls.es', _id: node } }, { message: `via ${node}` }] });
        assert.equal(result.errors, false);
      } finally {
        await client.close();
      }
    }
    const page = JSON.parse((await https(`${base}/events?topic=tls.es`, { ca })).text) as { count: number };
    assert.equal(page.count, 2);
  });

  test('the publisher and consumer commands over https, trusting the CA through NODE_EXTRA_CA_CERTS', async () => {
    const env = { NODE_EXTRA_CA_CERTS: certificates.caCert };
    const published = await runNode(['dist/publisher.js', '--url', base, '--events', '300', '--duplicate-ratio', '0.2', '--topics', 'tls.cli', '--verify', '--json'], { env });
    assert.equal(published.code, 0, published.stderr);
    const consumed = await runNode(['dist/consumer.js', '--url', base, '--group', 'tls-cli', '--topics', 'tls.cli', '--exit-when-idle', '1000', '--json'], { env });
    assert.equal(consumed.code, 0, consumed.stderr);
    const { unique } = JSON.parse(published.stdout.trim().split('\n').pop()!) as { unique: number };
    assert.ok(unique > 200 && unique < 300);
    assert.equal(JSON.parse(consumed.stdout.trim().split('\n').pop()!).acked, unique, 'every distinct event taken and acked over https');
  });

  test('the OpenTelemetry exporter over https', async () => {
    const memory = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': 'tls.otel' }), processors: [new SimpleLogRecordProcessor({ exporter: memory })] });
    for (let index = 0; index < 20; index++) provider.getLogger('tls').emit({ body: `record ${index}`, attributes: { 'log.record.uid': `r-${index}` } });
    await provider.forceFlush();
    const exporter = new OTLPLogExporter({ url: `${base}/v1/logs`, httpAgentOptions: { ca } });
    const code = await new Promise<number>((resolve) => exporter.export(memory.getFinishedLogRecords(), (result) => resolve(result.code)));
    await exporter.shutdown();
    await provider.shutdown();
    assert.equal(code, 0, 'exported');
    assert.equal(JSON.parse((await https(`${base}/events?topic=tls.otel`, { ca })).text).count, 20);
  });

  test('syslog-ng ships over https with its elasticsearch-http() destination', { skip: missingCommand('syslog-ng') ?? false, timeout: 60_000 }, async () => {
    const dir = await makeTempDir('aggregator-tls-syslog-ng-');
    const input = join(dir, 'app.log');
    writeFileSync(input, Array.from({ length: 50 }, (_, index) => `tls-line-${index}`).join('\n') + '\n');
    const config = join(dir, 'syslog-ng.conf');
    writeFileSync(
      config,
      `@version: 3.38
@include "scl.conf"
options { stats_freq(0); };
source s_app { file("${input}" follow-freq(0.1) flags(no-parse)); };
destination d_aggregator { elasticsearch-http(url("${base}/es/_bulk") index("tls.syslog") type("") custom_id("\${MESSAGE}") batch_lines(10) tls(ca-file("${certificates.caCert}") peer-verify(yes))); };
log { source(s_app); destination(d_aggregator); };
`,
    );
    const child = spawnTracked('syslog-ng', ['-F', '-f', config, `--persist-file=${join(dir, 'persist')}`, `--pidfile=${join(dir, 'pid')}`, `--control=${join(dir, 'ctl')}`], { stdio: 'ignore' });
    try {
      await waitFor(async () => JSON.parse((await https(`${base}/events?topic=tls.syslog&limit=1000`, { ca })).text).count === 50, 'syslog-ng to ship every line over https', 30_000);
    } finally {
      await stopChild(child);
    }
  });

  test('a renewed certificate is served to new connections without a restart; a bad file keeps the old one', async () => {
    const before = await servedSerial(server.port, ca);
    // A broken renewal (a key that is not the certificate's) is refused, and the old certificate stays.
    const broken = signedCertificate(certificates.dir, 'broken', '/CN=localhost', 'IP:127.0.0.1,DNS:localhost');
    replaceFile(broken.key, certificates.serverKey);
    const afterBroken = await servedSerial(server.port, ca);
    assert.equal(afterBroken, before);
    const renewed = signedCertificate(certificates.dir, 'renewed', '/CN=localhost', 'IP:127.0.0.1,DNS:localhost');
    replaceFile(renewed.cert, certificates.serverCert);
    replaceFile(renewed.key, certificates.serverKey);
    let serial = before;
    await waitFor(async () => (serial = await servedSerial(server.port, ca)) !== before, 'the renewed certificate to be served', 10_000);
    assert.equal(serial, new (await import('node:crypto')).X509Certificate(pem(certificates.serverCert)).serialNumber);
    assert.equal((await https(`${base}/health`, { ca })).status, 200);
    assert.match(server.tail(), /TLS certificate reload failed/, 'the broken renewal was logged');
  });
});

/** Puts `from`'s bytes at `to` in one rename, as a certificate renewal does. */
function replaceFile(from: string, to: string): void {
  const staged = `${to}.staged`;
  writeFileSync(staged, pem(from));
  renameSync(staged, to);
}

describe('mutual TLS (--tls-client-ca)', { skip }, () => {
  let certificates: CertificateFiles;
  let server: TestServer;
  let base: string;
  before(async () => {
    certificates = makeCertificates(await makeTempDir('aggregator-mtls-'));
    server = await startServer({ args: ['--tls-cert', certificates.serverCert, '--tls-key', certificates.serverKey, '--tls-client-ca', certificates.caCert] });
    base = `https://127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server?.stop();
  });

  test('a client certificate the CA signed is let in; none, or an untrusted one, is refused in the handshake', async () => {
    const ca = pem(certificates.caCert);
    const trusted = { ca, cert: pem(certificates.clientCert), key: pem(certificates.clientKey) };
    const body = JSON.stringify(event({ topic: 'tls.mutual', event_id: 'm-1' }));
    assert.equal((await https(`${base}/publish`, trusted, 'POST', body)).status, 200);
    await assert.rejects(https(`${base}/publish`, { ca }, 'POST', body), 'no client certificate');
    await assert.rejects(https(`${base}/publish`, { ca, cert: pem(certificates.rogueCert), key: pem(certificates.rogueKey) }, 'POST', body), 'an untrusted client certificate');
    const curl = await run('curl', ['-sS', '--cacert', certificates.caCert, '--cert', certificates.clientCert, '--key', certificates.clientKey, `${base}/stats`]);
    assert.equal(JSON.parse(curl.stdout).unique_processed, 1, 'curl with the client certificate reads, and only the trusted publish was stored');
    assert.equal((await stats(server.url).catch(() => null)), null, 'plain HTTP gets nothing');
  });
});

describe('TLS configuration', () => {
  test('a certificate without its key, or a client CA without TLS, or an unreadable file: refused at start with the reason', { skip }, async () => {
    const dir = await makeTempDir('aggregator-tls-config-');
    const certificates = makeCertificates(dir);
    const cases: [string[], RegExp][] = [
      [['--tls-cert', certificates.serverCert], /--tls-cert and --tls-key go together/],
      [['--tls-client-ca', certificates.caCert], /--tls-client-ca needs --tls-cert/],
      [['--tls-cert', join(dir, 'nothing.pem'), '--tls-key', certificates.serverKey], /cannot use the TLS certificate/],
      [['--tls-cert', certificates.serverCert, '--tls-key', certificates.rogueKey], /cannot use the TLS certificate/],
    ];
    for (const [args, message] of cases) {
      const result = await runNode(['dist/main.js', '--port', '0', '--data-dir', join(dir, 'data'), ...args]);
      assert.notEqual(result.code, 0, args.join(' '));
      assert.match(result.stderr, message, args.join(' '));
    }
  });
});
