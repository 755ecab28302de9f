/**
 * Security: request size limits on every route, no unbounded query, SQL only through prepared
 * statements with bound values, no file path built from request input, and tokens checked on every
 * protected route. All of it is checked as behaviour of a real server: SQL text in values is
 * stored and served verbatim, and the files the server holds open stay its shard files.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { before, describe, test } from 'node:test';
import { allEvents, event, getJson, isServiceFile, openFilePaths, publish, rawHttp, readRssKiB, startServer, stats, type TestServer } from './helper.js';

const MiB = 1024 * 1024;
/** Streams `total` bytes of body after `head` and resolves with the first answer (or how it ended). */
function sendWithBody(port: number, head: string, total: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const chunk = Buffer.alloc(MiB, 0x41);
    let sent = 0;
    socket.on('data', (data: Buffer) => (answer += data.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => resolve(answer));
    socket.write(head);
    const pump = (): void => {
      while (sent < total && !socket.destroyed) {
        sent += chunk.length;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end();
    };
    pump();
  });
}

describe('request size limits on every route', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ shards: 2, args: ['--max-body-bytes', String(MiB), '--discard-bytes', String(8 * MiB)] });
  });

  test('/publish: a body over --max-body-bytes is 413, past --discard-bytes the connection is closed, nothing is stored', async () => {
    const over = await publish(server.url, JSON.stringify(event({ payload: { blob: 'x'.repeat(2 * MiB) } })));
    assert.equal(over.status, 413);
    const endless = await sendWithBody(server.port, `POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${64 * MiB}\r\n\r\n`, 64 * MiB);
    // The 413 is written before the close; a client still writing may see the reset first.
    assert.ok(endless === '' || /^HTTP\/1\.1 413/.test(endless), `answered ${endless.slice(0, 40)}`);
    assert.equal((await getJson(`${server.url}/health`)).status, 200);
    assert.equal((await stats(server.url)).received, 0);
  });

  test('every other route takes no body: 64 MiB sent to each is answered and dropped, not buffered', async () => {
    const pid = server.child.pid!;
    const before = readRssKiB(pid)! * 1024;
    const routes: [string, string, number][] = [
      ['GET', '/health', 200], ['GET', '/events', 200], ['GET', '/stats', 200], ['GET', '/metrics', 200], ['GET', '/openapi.json', 200],
      ['POST', '/events', 405], ['PUT', '/publish', 405], ['DELETE', '/stats', 405], ['POST', '/no-such-route', 404], ['PATCH', '/', 405],
    ];
    for (const [method, path, status] of routes) {
      const answer = await sendWithBody(server.port, `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${64 * MiB}\r\n\r\n`, 64 * MiB);
      assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status}`), `${method} ${path}: ${answer.slice(0, 80)}`);
    }
    const growth = readRssKiB(pid)! * 1024 - before;
    assert.ok(growth < 32 * MiB, `RSS grew by ${(growth / MiB).toFixed(0)} MiB after ${routes.length} x 64 MiB of bodies`);
    assert.equal((await getJson(`${server.url}/health`)).status, 200);
  });

  test('headers and URLs are bounded too: a 5 MiB header is cut off, a 20 KiB query is a 400', async () => {
    const huge = await rawHttp(server.port, `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(5 * MiB)}\r\n\r\n`, { timeoutMs: 5000 });
    assert.ok(huge.status === null || huge.status >= 400, `a 5 MiB header was answered ${huge.status}`);
    assert.equal((await getJson(`${server.url}/events?topic=${'a'.repeat(20_000)}`)).status, 400);
    assert.equal((await getJson(`${server.url}/events?after=${'a'.repeat(20_000)}`)).status, 400);
    assert.equal((await getJson(`${server.url}/health`)).status, 200);
  });
});

describe('no unbounded query', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ shards: 2 });
    for (let batch = 0; batch < 3; batch++) {
      await publish(server.url, Array.from({ length: 600 }, (_, index) => event({ topic: 'q', event_id: `q-${batch}-${index}` })));
    }
  });

  test('limit is 1..1000 (default 100): 1001 and every malformed limit are 400 invalid_query', async () => {
    assert.equal((await getJson(`${server.url}/events`)).body.count, 100, 'the default page');
    assert.equal((await getJson(`${server.url}/events?limit=1000`)).body.count, 1000, 'the largest page');
    for (const limit of ['1001', '1000000000', '99999999999999999999', '0', '-1', '1.5', '1e3', 'abc', '', ' 5', '5 ', '0x10', '%00', 'NaN', 'Infinity']) {
      const reply = await getJson(`${server.url}/events?limit=${encodeURIComponent(limit)}`);
      assert.equal(reply.status, 400, `limit=${JSON.stringify(limit)} answered ${reply.status}`);
      assert.equal(reply.body.error.code, 'invalid_query');
    }
    assert.equal((await getJson(`${server.url}/events?limit=5000&limit=10`)).status, 400, 'a repeated parameter does not slip past the check');
  });

  test('a cursor or topic that is not one of ours is 400, whatever it holds', async () => {
    const forged = [
      "' OR 1=1 --",
      Buffer.from('v1:1 OR 1=1').toString('base64url'),
      Buffer.from('v1:-1').toString('base64url'),
      Buffer.from('v1:9999999999999999').toString('base64url'),
      Buffer.from('v2:5').toString('base64url'),
      'djE6MQ'.repeat(20),
    ];
    for (const after of forged) assert.equal((await getJson(`${server.url}/events?after=${encodeURIComponent(after)}`)).status, 400, `after=${after}`);
    for (const topic of ["q' OR '1'='1", 'q;DROP TABLE events', '../q', 'q%', '*']) {
      assert.equal((await getJson(`${server.url}/events?topic=${encodeURIComponent(topic)}`)).status, 400, `topic=${topic}`);
    }
    // A well-formed cursor far ahead is simply an empty page.
    const ahead = await getJson(`${server.url}/events?after=${Buffer.from('v1:999999999999999').toString('base64url')}`);
    assert.deepEqual([ahead.status, ahead.body.count], [200, 0]);
    assert.equal((await allEvents(server.url, 'q')).length, 1800, 'the table is intact');
  });
});

describe('SQL only through prepared statements; no path from user input', () => {
  test('values holding SQL, quotes and placeholder syntax are stored, served and deduplicated verbatim', async () => {
    const server = await startServer({ shards: 2 });
    const texts = ["'", "''", '"', '\\', '?', '?1', ':id', '@id', '$id', '%', '_', "'; DROP TABLE events; --", "' OR '1'='1", '" OR ""="', '1); DELETE FROM events WHERE (1', "x' UNION SELECT name FROM sqlite_master --"];
    assert.equal((await publish(server.url, event({ topic: 'sql.bystander', event_id: 'kept' }))).status, 200);
    const events = texts.map((text, index) => event({ topic: 'sql.values', event_id: text, source: text, payload: { text, [text]: index } }));
    assert.deepEqual((await publish(server.url, events)).body, { accepted: texts.length, unique: texts.length, duplicates: 0 });
    assert.deepEqual((await publish(server.url, events)).body, { accepted: texts.length, unique: 0, duplicates: texts.length }, 'the same values again: each one matched itself');
    const stored = new Map((await allEvents(server.url, 'sql.values')).map((item) => [item.event_id, item]));
    assert.equal(stored.size, texts.length);
    for (const [index, text] of texts.entries()) {
      const found = stored.get(text);
      assert.ok(found, `${text} was not stored under its own id`);
      assert.deepEqual([found.source, found.payload], [text, { text, [text]: index }], text);
    }
    assert.deepEqual((await allEvents(server.url, 'sql.bystander')).map((item) => item.event_id), ['kept'], 'the other rows are intact');
    assert.deepEqual((await stats(server.url)).topic_counts['sql.values'], { received: 2 * texts.length, unique_processed: texts.length, duplicate_dropped: texts.length });
  });

  // The server's open files are sampled after each step, so a file opened and closed within one
  // request goes unseen; the data dir listing and the answers cover what is left.
  test('serving every route with hostile input, the server holds open no file but its own shard files', async () => {
    const server = await startServer({ shards: 2 });
    // The data dir itself is opened for a moment to fsync its entries (a new WAL, the seq reservation).
    const dataDir = server.dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const own = new RegExp(`^(/dev/null|${dataDir}|${dataDir}/(shard-00[01]\\.db(-wal|-shm)?|seq-reservation\\.json(\\.tmp)?))$`);
    const seen = new Set<string>();
    const look = (): void => {
      for (const path of openFilePaths(server.pid)) seen.add(path);
    };
    look();
    const names = ['../../etc/passwd', '/etc/passwd', 'aggregator.json', 'shard-000.db', '..', '~root', '/proc/self/environ', 'C:\\boot.ini'];
    const published = await publish(server.url, names.map((name, index) => event({ topic: index % 2 === 0 ? 'shard-000.db' : 'aggregator.json', event_id: name, source: name })));
    assert.equal(published.status, 200, JSON.stringify(published.body));
    look();
    for (const name of names) {
      for (const path of [`/events?topic=${encodeURIComponent(name)}`, `/events?after=${encodeURIComponent(name)}`, `/dashboard/${encodeURIComponent(name)}`, `/${name}`, `/docs/${name}`]) {
        await (await fetch(`${server.url}${path}`, { headers: { accept: 'text/html' } })).arrayBuffer();
        look();
      }
      await rawHttp(server.port, `GET /dashboard/${name} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      look();
    }
    for (const path of ['/events?topic=shard-000.db', '/events?limit=1000', '/stats', '/metrics', '/openapi.json', '/', '/docs', '/health']) {
      assert.equal((await getJson(`${server.url}${path}`)).status, 200, path);
      look();
    }
    // Its own code may be open for a moment while a worker thread starts (module files under dist/
    // or node_modules/): not a path any input chose.
    const code = fileURLToPath(new URL('..', import.meta.url));
    const isOwnCode = (path: string): boolean => path.startsWith(`${code}dist/`) || path.startsWith(`${code}node_modules/`);
    assert.deepEqual([...seen].filter((path) => !own.test(path) && !isOwnCode(path)), [], 'files other than its shard files were open');
    assert.ok([...seen].some((path) => path.endsWith('shard-000.db')), 'the probe sees the shard files: /proc works here');
  });

  test('hostile topics, ids and dashboard URLs create or read no file', async () => {
    const server = await startServer({ shards: 1 });
    const hostile = ['../../etc/passwd', "x'); DROP TABLE events; --", '/tmp/x', 'shard-000.db', '..\\..\\x'];
    const reply = await publish(server.url, hostile.map((eventId) => event({ topic: 'paths', event_id: eventId })));
    assert.equal(reply.status, 200, 'ids may hold anything printable; they are values, never paths');
    assert.deepEqual((await allEvents(server.url, 'paths')).map((item) => item.event_id).sort(), [...hostile].sort());
    assert.deepEqual(readdirSync(server.dataDir).filter((name) => !isServiceFile(name)), []);
    for (const path of ['/dashboard/../../package.json', '/dashboard/%2e%2e/%2e%2e/package.json', '/dashboard/..%2f..%2fpackage.json', '/dashboard//etc/passwd', '/../package.json']) {
      const answer = await rawHttp(server.port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      assert.ok(answer.status === null || answer.status === 404 || answer.status === 400, `${path}: ${answer.status}`);
      assert.ok(!answer.text.includes('"dependencies"') && !answer.text.includes('root:'), `${path} served a file`);
    }
  });
});

describe('tokens are checked on every protected route', () => {
  let server: TestServer;
  const open = new Set(['/health', '/openapi.json', '/', '/docs', '/es', '/es/_cat/health', '/es/_cluster/health']);
  before(async () => {
    server = await startServer({ shards: 1, args: ['--publish-token', 'pub-secret', '--read-token', 'read-secret', '--consume-token', 'consume-secret', '--admin-token', 'admin-secret'] });
  });

  // /publish takes the event itself; each shipper route takes it in its own protocol's JSON.
  const bodyFor = (path: string, item: ReturnType<typeof event>): string => {
    if (path.endsWith('/_bulk')) return `${JSON.stringify({ create: { _index: item.topic, _id: item.event_id } })}\n${JSON.stringify(item.payload)}\n`;
    if (path === '/v1/logs') {
      const attributes = [{ key: 'log.record.uid', value: { stringValue: item.event_id } }];
      return JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: item.topic } }] }, scopeLogs: [{ logRecords: [{ body: { stringValue: 'x' }, attributes }] }] }] });
    }
    if (path.startsWith('/groups/')) return path.endsWith('/fetch') ? '{"max": 1, "wait_ms": 0}' : '{"ids": []}';
    if (path === '/admin/delete') return JSON.stringify({ topic: item.topic, event_ids: [item.event_id] });
    if (path === '/loki/api/v1/push') return JSON.stringify({ streams: [{ stream: { job: item.topic }, values: [['1761129000000000000', item.event_id]] }] });
    return JSON.stringify(item);
  };
  const succeeded = (status: number): number => (status === 204 ? 200 : status);

  test('every route of the API description: open ones answer without a token, every other one refuses every wrong credential', async () => {
    const document = (await getJson(`${server.url}/openapi.json`)).body;
    // The documented routes and the known ones. /tail is a WebSocket: a plain GET is no upgrade
    // (404); its token check is the next test.
    const known = ['GET /events', 'GET /stats', 'GET /metrics', 'POST /publish', 'GET /health', 'GET /openapi.json', 'GET /', 'GET /docs'];
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) =>
      Object.keys(methods).filter((method) => ['get', 'post'].includes(method)).map((method) => `${method.toUpperCase()} ${path}`),
    );
    // The consume socket, like /tail, is checked in its own tests (consumer-groups).
    const routes = [...new Set([...known, ...documented])].filter((route) => route !== 'GET /tail' && route !== 'GET /groups/{name}/consume').map((route) => route.split(' ') as [string, string]);
    let checked = 0;
    // The group routes act on one group: it exists, so the right token gets a 200.
    const made = await fetch(`${server.url}/groups/tokens`, { method: 'PUT', headers: { authorization: 'Bearer consume-secret' }, body: '{"topics": "tokens"}' });
    assert.equal(made.status, 201);
    for (const [method, template] of routes) {
      const path = template.replace('{name}', 'tokens');
      const scope = path.startsWith('/admin/') ? 'admin' : path.startsWith('/groups') ? 'consume' : method === 'POST' ? 'publish' : 'read';
      const send = (authorization: string | null, query = '') =>
        fetch(`${server.url}${path}${query}`, {
          method,
          headers: { 'content-type': 'application/json', ...(authorization === null ? {} : { authorization }) },
          ...(method === 'POST' ? { body: bodyFor(path, event({ topic: 'tokens', event_id: `t-${checked++}` })) } : {}),
        });
      const right = { publish: 'pub-secret', read: 'read-secret', consume: 'consume-secret', admin: 'admin-secret' }[scope];
      const other = scope === 'publish' ? 'read-secret' : 'pub-secret';
      if (open.has(path)) {
        assert.equal((await send(null)).status, 200, `${method} ${path} should be open`);
        continue;
      }
      for (const [label, authorization, status] of [
        ['no header', null, 401],
        ['an empty header', '', 401],
        ['a wrong token', 'Bearer nope', 401],
        ['Basic with a wrong password', `Basic ${Buffer.from(`user:${right}x`).toString('base64')}`, 401],
        ['Basic with the token as the user', `Basic ${Buffer.from(`${right}:`).toString('base64')}`, 401],
        ['the bare token', right, 401],
        ['a longer token', `Bearer ${right}x`, 401],
        ['a shorter token', `Bearer ${right.slice(0, -1)}`, 401],
        ['two tokens', `Bearer ${right} ${right}`, 401],
        ['the other scope', `Bearer ${other}`, 403],
      ] as const) {
        const reply = await send(authorization);
        assert.equal(reply.status, status, `${method} ${path} with ${label}`);
        await reply.arrayBuffer();
      }
      assert.equal((await send(null, `?access_token=${right}`)).status, 401, `${method} ${path}: a token in the query is not a header`);
      assert.equal(succeeded((await send(`bearer ${right}`)).status), 200, `${method} ${path} with its token`);
      assert.equal(succeeded((await send(`Basic ${Buffer.from(`any:${right}`).toString('base64')}`)).status), 200, `${method} ${path} with its token as a Basic password`);
      assert.equal(succeeded((await send(`ApiKey ${right}`)).status), 200, `${method} ${path} with its token as an ApiKey`);
    }
    const stored = await fetch(`${server.url}/events?topic=tokens`, { headers: { authorization: 'Bearer read-secret' } });
    // The admin route stores nothing (its deletions name ids never stored, so they remove nothing either).
    const publishRoutes = routes.filter(([method, path]) => method === 'POST' && !path.startsWith('/admin/') && !path.startsWith('/groups/')).length;
    assert.equal(((await stored.json()) as { count: number }).count, 3 * publishRoutes, 'only the publishes with the right token were stored: three forms on each publishing route');
    const counters = (await (await fetch(`${server.url}/stats`, { headers: { authorization: 'Bearer read-secret' } })).json()) as { rejected: number };
    assert.equal(counters.rejected, 0, 'a refused token is not a rejected event');
  });

  test('/tail needs the read token too', async () => {
    const upgrade = (query: string) =>
      rawHttp(server.port, `GET /tail${query} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`, { timeoutMs: 2000 });
    assert.equal((await upgrade('')).status, 401);
    assert.equal((await upgrade('?access_token=pub-secret')).status, 403);
    assert.equal((await upgrade('?access_token=read-secret')).status, 101);
  });

  test('an unauthorised publish with a huge body is 401, not 413, and is read and dropped', async () => {
    const readStats = async () => (await (await fetch(`${server.url}/stats`, { headers: { authorization: 'Bearer read-secret' } })).json()) as { received: number };
    const before = await readStats();
    const answer = await sendWithBody(server.port, `POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${32 * MiB}\r\n\r\n`, 32 * MiB);
    assert.match(answer, /^HTTP\/1\.1 401/);
    assert.equal((await readStats()).received, before.received);
  });
});
