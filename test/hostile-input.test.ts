/**
 * Hostile input: every malformed, oversized, mistyped or malicious request gets its documented 4xx,
 * stores nothing, moves no counter but `rejected` (and that only for 422s), and leaves the server
 * healthy. One server takes the whole refusal corpus; a second one checks the edge values that
 * must be stored exactly as sent.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { before, describe, test } from 'node:test';
import { pack } from 'msgpackr';
import { allEvents, event, getJson, isServiceFile, publish, rawHttp, startServer, stats, waitFor, type TestServer } from './helper.js';

interface Refusal {
  readonly name: string;
  readonly body: string | Buffer;
  readonly contentType?: string;
  readonly status: number;
  readonly code: string;
  /** How much `rejected` moves: the request's event count for a 422, else 0. */
  readonly rejected?: number;
  /** The JSON pointer of the first problem, for 422s. */
  readonly path?: string;
}

function valid(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const candidate: Record<string, unknown> = { ...event({ topic: 'hostile', event_id: 'h-1', payload: {} }), ...overrides };
  for (const key of Object.keys(candidate)) if (candidate[key] === undefined) delete candidate[key];
  return candidate;
}

const eventFields = ['topic', 'event_id', 'timestamp', 'source', 'payload'] as const;

interface Counters {
  received: number;
  unique_processed: number;
  duplicate_dropped: number;
  rejected: number;
  topics: string[];
}

async function counters(url: string): Promise<Counters> {
  const { received, unique_processed, duplicate_dropped, rejected, topics } = await stats(url);
  return { received, unique_processed, duplicate_dropped, rejected, topics };
}

describe('hostile input is refused with its documented 4xx and stores nothing', () => {
  // One server for the corpus; each test checks its own cases (refuseAll), none relies on another.
  let server: TestServer;
  before(async () => {
    server = await startServer({ shards: 2 });
  });

  /** Sends each case, checks the answer, that only `rejected` moved, and that /health stays 200. */
  async function refuseAll(cases: readonly Refusal[]): Promise<void> {
    for (const item of cases) {
      const before = await counters(server.url);
      const reply = await publish(server.url, item.body, { contentType: item.contentType ?? 'application/json' });
      assert.equal(reply.status, item.status, `${item.name}: ${JSON.stringify(reply.body).slice(0, 300)}`);
      assert.equal(reply.body?.error?.code, item.code, item.name);
      if (item.path !== undefined) assert.equal(reply.body.error.details[0].path, item.path, item.name);
      assert.ok(JSON.stringify(reply.body).length < 16_384, `${item.name}: the answer echoes the input (${JSON.stringify(reply.body).length} bytes)`);
      assert.deepEqual(await counters(server.url), { ...before, rejected: before.rejected + (item.rejected ?? 0) }, `${item.name}: a counter other than rejected moved`);
      assert.equal((await getJson(`${server.url}/health`)).status, 200, `${item.name}: /health`);
    }
  }

  test('malformed and truncated JSON, NDJSON and msgpack bodies are 400 bad_json', async () => {
    const text = JSON.stringify(valid());
    const cases: Refusal[] = [];
    // Every 3rd prefix of a valid event, from the empty body on: none of them is JSON.
    for (let length = 0; length < text.length; length += 3) cases.push({ name: `json prefix ${length}`, body: text.slice(0, length), status: 400, code: 'bad_json' });
    for (const [name, body] of [
      ['whitespace only', '  \n\t '],
      ['trailing garbage', `${text}x`],
      ['two objects back to back', `${text}${text}`],
      ['trailing comma in an array', `[${text},]`],
      ['single quotes', text.replaceAll('"', "'")],
      ['NaN literal', text.replace('"payload":{}', '"payload":{"n":NaN}')],
      ['Infinity literal', text.replace('"payload":{}', '"payload":{"n":Infinity}')],
      ['a comment', `/* c */${text}`],
      ['a byte order mark', `\ufeff${text}`],
      ['a raw NUL inside a string', text.replace('h-1', 'h\u0000-1')],
      ['a raw NUL between tokens', text.replace(',', ',\u0000')],
      ['a raw newline inside a string', text.replace('h-1', 'h\n-1')],
      ['an unterminated deep array', '['.repeat(5000)],
    ] as const) {
      cases.push({ name, body, status: 400, code: 'bad_json' });
    }
    for (const [name, bytes] of [
      ['invalid UTF-8: 0xff', [0xff]],
      ['invalid UTF-8: overlong "/"', [0xc0, 0xaf]],
      ['invalid UTF-8: an encoded surrogate', [0xed, 0xa0, 0x80]],
      ['invalid UTF-8: above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
      ['invalid UTF-8: a cut sequence', [0xe2, 0x82]],
    ] as const) {
      const marker = text.indexOf('h-1');
      cases.push({ name, body: Buffer.concat([Buffer.from(text.slice(0, marker)), Buffer.from(bytes), Buffer.from(text.slice(marker))]), status: 400, code: 'bad_json' });
    }
    const ndjson = `${text}\n${JSON.stringify(valid({ event_id: 'h-2' }))}\n`;
    cases.push(
      { name: 'ndjson with a bad line', body: `${text}\n{"oops"\n`, contentType: 'application/x-ndjson', status: 400, code: 'bad_json' },
      { name: 'ndjson cut mid-line', body: ndjson.slice(0, ndjson.length - 10), contentType: 'application/x-ndjson', status: 400, code: 'bad_json' },
      { name: 'ndjson with invalid UTF-8', body: Buffer.concat([Buffer.from(ndjson), Buffer.from([0xff, 0x0a])]), contentType: 'application/x-ndjson', status: 400, code: 'bad_json' },
    );
    const packed = Buffer.from(pack(valid()));
    for (let length = 1; length < packed.length; length += 7) {
      cases.push({ name: `msgpack prefix ${length}`, body: packed.subarray(0, length), contentType: 'application/msgpack', status: 400, code: 'bad_json' });
    }
    const badUtf8 = Buffer.from(pack(valid({ payload: { note: 'ab' } })));
    badUtf8[badUtf8.indexOf('ab')] = 0xff;
    cases.push(
      { name: 'msgpack with trailing bytes', body: Buffer.concat([packed, Buffer.from([1, 2, 3])]), contentType: 'application/msgpack', status: 400, code: 'bad_json' },
      { name: 'msgpack string with invalid UTF-8', body: badUtf8, contentType: 'application/msgpack', status: 400, code: 'bad_json' },
      { name: 'msgpack: the never-used byte 0xc1', body: Buffer.from([0xc1]), contentType: 'application/msgpack', status: 400, code: 'bad_json' },
      { name: 'msgpack map with a map as a key', body: Buffer.from([0x81, 0x80, 0x01]), contentType: 'application/msgpack', status: 400, code: 'bad_json' },
      { name: 'JSON text sent as msgpack', body: text, contentType: 'application/msgpack', status: 400, code: 'bad_json' },
      { name: 'msgpack sent as JSON', body: packed, contentType: 'application/json', status: 400, code: 'bad_json' },
    );
    await refuseAll(cases);
  });

  test('a wrong type for every field, a missing field and an unknown field are 422 at that field', async () => {
    const cases: Refusal[] = [];
    const wrongValues: [string, unknown][] = [['a number', 42], ['a float', 1.5], ['a boolean', true], ['null', null], ['an array', []], ['an object', {}], ['a string', 'text']];
    for (const field of eventFields) {
      for (const [label, value] of wrongValues) {
        if (field === 'payload' && label === 'an object') continue; // the one right type
        if (field !== 'payload' && field !== 'timestamp' && label === 'a string') continue;
        cases.push({ name: `${field} as ${label}`, body: JSON.stringify(valid({ [field]: value })), status: 422, code: 'invalid_event', rejected: 1, path: `/${field}` });
      }
      cases.push({ name: `missing ${field}`, body: JSON.stringify(valid({ [field]: undefined })), status: 422, code: 'invalid_event', rejected: 1, path: `/${field}` });
    }
    for (const name of ['extra', 'seq', 'received_at', 'Topic', 'constructor', '__proto__', 'toString']) {
      // Built as text: a literal __proto__ key in an object literal would set the prototype instead.
      const body = JSON.stringify(valid()).replace(/}$/, `,${JSON.stringify(name)}:1}`);
      cases.push({ name: `unknown field ${name}`, body, status: 422, code: 'invalid_event', rejected: 1, path: `/${name}` });
    }
    for (const [name, body, rejected] of [
      ['an empty object', '{}', 1],
      ['null', 'null', 1],
      ['a number', '42', 1],
      ['a string', '"event"', 1],
      ['an array holding null', '[null]', 1],
      ['an array of arrays', '[[], []]', 2],
      ['one bad event among good ones', JSON.stringify([valid({ event_id: 'a' }), valid({ event_id: 'b', timestamp: 'soon' }), valid({ event_id: 'c' })]), 3],
    ] as const) {
      cases.push({ name, body, status: 422, code: 'invalid_event', rejected });
    }
    await refuseAll(cases);
  });

  test('batch size edges: an empty array is 422, 10 001 and 100 000 events are 413, 10 000 bad events are one bounded 422', async () => {
    const many = (count: number, overrides: Record<string, unknown> = {}) =>
      JSON.stringify(Array.from({ length: count }, (_, index) => valid({ event_id: `b-${index}`, ...overrides })));
    await refuseAll([
      { name: 'an empty array', body: '[]', status: 422, code: 'invalid_event', rejected: 0 },
      { name: 'an empty ndjson body', body: '\n\n', contentType: 'application/x-ndjson', status: 422, code: 'invalid_event', rejected: 0 },
      { name: '10 001 events', body: many(10_001), status: 413, code: 'too_large' },
      { name: '100 000 events', body: many(100_000), status: 413, code: 'too_large' },
      { name: '100 000 ndjson lines', body: Array.from({ length: 100_000 }, () => '{}').join('\n'), contentType: 'application/x-ndjson', status: 413, code: 'too_large' },
    ]);
    const before = await counters(server.url);
    const reply = await publish(server.url, many(10_000, { topic: '' }));
    assert.equal(reply.status, 422);
    assert.equal(reply.body.error.details.length, 100, 'details are capped');
    assert.deepEqual(await counters(server.url), { ...before, rejected: before.rejected + 10_000 });
  });

  test('deep nesting is refused without a crash: 10 000 levels in a payload, 1 000 000 in JSON, 100 000 in msgpack', async () => {
    const depth = 10_000;
    const deepPayload = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const deepArray = `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    const wrap = (payload: string) => JSON.stringify(valid()).replace('"payload":{}', `"payload":${payload}`);
    await refuseAll([
      { name: 'payload nested 10 000 objects deep', body: wrap(deepPayload), status: 422, code: 'invalid_event', rejected: 1 },
      { name: 'payload nested 10 000 arrays deep', body: wrap(`{"a":${deepArray}}`), status: 422, code: 'invalid_event', rejected: 1 },
      { name: 'payload 65 levels deep (one past the limit)', body: wrap(`${'{"a":'.repeat(65)}1${'}'.repeat(65)}`), status: 422, code: 'invalid_event', rejected: 1, path: `/payload${'/a'.repeat(64)}` },
      { name: 'a body of 1 000 000 nested arrays', body: `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`, status: 422, code: 'invalid_event', rejected: 1 },
      { name: 'a body of 1 000 000 nested objects', body: `${'{"a":'.repeat(1_000_000)}1${'}'.repeat(1_000_000)}`, status: 422, code: 'invalid_event', rejected: 1 },
      { name: 'msgpack of 100 000 nested arrays', body: Buffer.concat([Buffer.alloc(100_000, 0x91), Buffer.from([0xc0])]), contentType: 'application/msgpack', status: 400, code: 'bad_json' },
      {
        name: 'msgpack of 100 000 nested maps',
        body: Buffer.concat([Buffer.from(Array.from({ length: 300_000 }, (_, index) => [0x81, 0xa1, 0x61][index % 3]!)), Buffer.from([0xc0])]),
        contentType: 'application/msgpack',
        status: 400,
        code: 'bad_json',
      },
    ]);
  });

  test('huge strings are refused with a small answer that does not echo them', async () => {
    const mebibyte = 'x'.repeat(1 << 20);
    await refuseAll([
      { name: '1 MiB topic', body: JSON.stringify(valid({ topic: mebibyte })), status: 422, code: 'invalid_event', rejected: 1, path: '/topic' },
      { name: '1 MiB event_id', body: JSON.stringify(valid({ event_id: mebibyte })), status: 422, code: 'invalid_event', rejected: 1, path: '/event_id' },
      { name: '1 MiB source', body: JSON.stringify(valid({ source: mebibyte })), status: 422, code: 'invalid_event', rejected: 1, path: '/source' },
      { name: '1 MiB timestamp', body: JSON.stringify(valid({ timestamp: mebibyte })), status: 422, code: 'invalid_event', rejected: 1, path: '/timestamp' },
      { name: 'event of 1 MiB (over 64 KiB)', body: JSON.stringify(valid({ payload: { blob: mebibyte } })), status: 422, code: 'invalid_event', rejected: 1 },
      { name: '1 MiB key in the payload', body: JSON.stringify(valid({ payload: { [mebibyte]: 1 } })), status: 422, code: 'invalid_event', rejected: 1 },
      { name: 'body of 17 MiB (over 16 MiB)', body: JSON.stringify(valid({ payload: { blob: 'x'.repeat(17 << 20) } })), status: 413, code: 'too_large' },
    ]);
  });

  test('NUL, control characters, invalid characters and lone surrogates in identity fields are 422', async () => {
    const cases: Refusal[] = [];
    for (const [label, character] of [['NUL', '\u0000'], ['unit separator', '\u001f'], ['DEL', '\u007f'], ['C1 NEL', '\u0085'], ['newline', '\n'], ['escape', '\u001b']] as const) {
      cases.push({ name: `event_id with ${label}`, body: JSON.stringify(valid({ event_id: `a${character}b` })), status: 422, code: 'invalid_event', rejected: 1, path: '/event_id' });
      cases.push({ name: `topic with ${label}`, body: JSON.stringify(valid({ topic: `a${character}b` })), status: 422, code: 'invalid_event', rejected: 1, path: '/topic' });
    }
    for (const [label, escaped] of [['high', '\\ud800'], ['low', '\\udfff'], ['reversed pair', '\\udc00\\ud800']] as const) {
      for (const field of ['event_id', 'source', 'topic'] as const) {
        const body = JSON.stringify(valid()).replace(field === 'topic' ? '"hostile"' : field === 'event_id' ? '"h-1"' : '"auth-service"', `"x${escaped}"`);
        cases.push({ name: `${field} with a lone ${label} surrogate`, body, status: 422, code: 'invalid_event', rejected: 1, path: `/${field}` });
      }
    }
    await refuseAll(cases);
  });

  test('RFC 3339 edge cases: each malformed timestamp is 422', async () => {
    const timestamps = [
      '2025-10-22T10:30:00', // no zone
      '2025-10-22T10:30:00+02', // offset without minutes
      '2025-10-22T10:30:00+0200', // offset without colon
      '2025-10-22T10:30:00+24:00',
      '2025-10-22T10:30:00+05:60',
      '2025-10-22T10:30Z', // no seconds
      '2025-10-22T10:30:00.Z', // empty fraction
      '2025-10-22T24:00:00Z',
      '2025-10-22T23:60:00Z',
      '2025-10-22T10:30:60Z', // leap second not at 23:59 UTC
      '2016-12-31T23:59:60+01:00', // 22:59:60 UTC
      '2016-12-31T23:59:61Z',
      '2025-02-29T10:30:00Z', // not a leap year
      '1900-02-29T10:30:00Z', // century, not a leap year
      '2025-04-31T10:30:00Z',
      '2025-00-10T10:30:00Z',
      '2025-10-00T10:30:00Z',
      '2025-10-22',
      '10:30:00Z',
      '25-10-22T10:30:00Z',
      '+2025-10-22T10:30:00Z',
      '2025-10-22T10:30:00Z\n',
      ' 2025-10-22T10:30:00Z',
      '２０２５-10-22T10:30:00Z', // full-width digits
      '2025-10-22T10:30:00 UTC',
      '2025-10-22T10:30:00GMT',
      '1761129000',
      '',
    ];
    await refuseAll(timestamps.map((timestamp) => ({ name: `timestamp ${JSON.stringify(timestamp)}`, body: JSON.stringify(valid({ timestamp })), status: 422, code: 'invalid_event', rejected: 1, path: '/timestamp' })));
  });

  test('topic injection (path traversal, SQL, look-alikes, invisible characters) is 422', async () => {
    const topics = [
      '../etc/passwd',
      '..',
      'a/../../b',
      '/abs',
      'a\\b',
      '%2e%2e%2f',
      "t'; DROP TABLE events;--",
      't" OR "1"="1',
      't OR 1=1',
      'аuth.prod', // Cyrillic а
      'ａuth', // full-width a
      'auth.prod\u200b', // zero-width space
      'auth\u202eprod', // right-to-left override
      'auth.prod ',
      '.hidden',
      '-rf',
      '_x',
      'é',
      'a'.repeat(129),
    ];
    await refuseAll(topics.map((topic) => ({ name: `topic ${JSON.stringify(topic).slice(0, 40)}`, body: JSON.stringify(valid({ topic })), status: 422, code: 'invalid_event', rejected: 1, path: '/topic' })));
  });

  test('a Content-Type other than JSON, NDJSON or msgpack is 415', async () => {
    const body = JSON.stringify(valid());
    const types = ['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/json-seq', 'json', 'application/javascript', ';;;', 'application/jsonx', 'application/msgpack+json'];
    await refuseAll(types.map((contentType) => ({ name: `Content-Type ${JSON.stringify(contentType)}`, body, contentType, status: 415, code: 'unsupported_media_type' })));
  });

  test('Content-Length lies, broken chunking and garbage on the socket get no 200 and store nothing', async () => {
    const text = JSON.stringify(valid({ event_id: 'raw' }));
    const head = (headers: string) => `POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${headers}\r\n`;
    const cases: [string, (string | Buffer)[], boolean, number | null][] = [
      // name, what is written, half-close, the status expected (null: closed without an answer)
      ['Content-Length shorter than the body', [head(`Content-Length: ${text.length - 5}\r\n`), text], false, 400],
      ['Content-Length longer than the body, then FIN', [head(`Content-Length: ${text.length + 50}\r\n`), text], true, null],
      ['Content-Length of 20 MB, 100 bytes, then FIN', [head('Content-Length: 20000000\r\n'), text.slice(0, 100)], true, null],
      ['negative Content-Length', [head('Content-Length: -5\r\n'), text], false, null],
      ['non-numeric Content-Length', [head('Content-Length: abc\r\n'), text], false, null],
      ['Content-Length of 99999999999999999999', [head('Content-Length: 99999999999999999999\r\n'), text], false, null],
      ['Content-Length and chunked together', [head('Content-Length: 3\r\nTransfer-Encoding: chunked\r\n'), `${text.length.toString(16)}\r\n${text}\r\n0\r\n\r\n`], false, null],
      ['chunked body stopping midway, then FIN', [head('Transfer-Encoding: chunked\r\n'), `${text.length.toString(16)}\r\n${text.slice(0, 20)}`], true, null],
      ['chunked body with a bad chunk size', [head('Transfer-Encoding: chunked\r\n'), `zz\r\n${text}\r\n0\r\n\r\n`], false, null],
      ['chunked body with a chunk longer than announced', [head('Transfer-Encoding: chunked\r\n'), `5\r\n${text}\r\n0\r\n\r\n`], false, null],
      ['binary garbage instead of a request', [Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 13, 10, 13, 10])], true, null],
      ['a request line without a version', ['POST /publish\r\n\r\n'], true, null],
    ];
    for (const [name, parts, end, status] of cases) {
      const before = await counters(server.url);
      const reply = await rawHttp(server.port, parts, { end, timeoutMs: 2000 });
      assert.ok(!/HTTP\/1\.1 2\d\d/.test(reply.text), `${name}: got a 2xx: ${reply.text.slice(0, 200)}`);
      if (status === null) assert.ok(reply.status === null || (reply.status >= 400 && reply.status < 500), `${name}: ${reply.text.slice(0, 200)}`);
      else assert.equal(reply.status, status, `${name}: ${reply.text.slice(0, 200)}`);
      await waitFor(async () => (await stats(server.url)).in_flight_requests === 0, `${name}: the request to be forgotten`);
      assert.deepEqual(await counters(server.url), before, name);
      assert.equal((await getJson(`${server.url}/health`)).status, 200, name);
    }
  });

  test('a body that stops midway with the connection left open holds nothing once the client goes', async () => {
    const text = JSON.stringify(valid({ event_id: 'stalled' }));
    for (const [name, headers, sent] of [
      ['Content-Length body stalled midway', `Content-Length: ${text.length}\r\n`, text.slice(0, 40)],
      ['chunked body stalled midway', 'Transfer-Encoding: chunked\r\n', `${text.length.toString(16)}\r\n${text.slice(0, 40)}`],
    ] as const) {
      const before = await counters(server.url);
      const socket = connect(server.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write(`POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${headers}\r\n${sent}`);
      await waitFor(async () => (await stats(server.url)).in_flight_requests === 1, `${name}: the server to be reading it`);
      socket.destroy();
      await waitFor(async () => (await stats(server.url)).in_flight_requests === 0, `${name}: the aborted request to be dropped`);
      assert.deepEqual(await counters(server.url), before, name);
    }
  });

  test('refusals of every kind store nothing, leave no file in the data dir, and the server publishes after them', async () => {
    await refuseAll([
      { name: 'truncated JSON', body: '[{"topic":', status: 400, code: 'bad_json' },
      { name: 'a number as event_id', body: JSON.stringify(valid({ event_id: 5 })), status: 422, code: 'invalid_event', rejected: 1, path: '/event_id' },
      { name: 'a path as topic', body: JSON.stringify(valid({ topic: '../../etc' })), status: 422, code: 'invalid_event', rejected: 1, path: '/topic' },
      { name: 'text/plain', body: JSON.stringify(valid()), contentType: 'text/plain', status: 415, code: 'unsupported_media_type' },
    ]);
    assert.deepEqual(await allEvents(server.url, 'hostile'), [], 'a refused request stored something');
    const files = (await readdir(server.dataDir)).filter((name) => !isServiceFile(name));
    assert.deepEqual(files, [], 'a file appeared in the data dir');
    const before = await counters(server.url);
    assert.equal((await publish(server.url, valid({ topic: 'after.refusals', event_id: 'ok' }))).status, 200, 'the server still publishes');
    assert.equal((await counters(server.url)).received, before.received + 1);
  });
});

describe('edge values that are valid are stored exactly as sent', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ shards: 2 });
  });

  test('leap second at 23:59:60 UTC, offsets, lower case, -00:00 and leap days are accepted', async () => {
    const timestamps = [
      '2016-12-31T23:59:60Z',
      '2016-12-31T23:59:60.999Z',
      '2017-01-01T00:59:60+01:00', // 23:59:60 UTC
      '2016-12-31T18:29:60-05:30', // 23:59:60 UTC
      '2025-10-22t10:30:00z',
      '2025-10-22T10:30:00-00:00',
      '2025-10-22T10:30:00.123456789+14:00',
      '2025-10-22T10:30:00-23:59',
      '2024-02-29T00:00:00Z',
      '2000-02-29T00:00:00Z',
      '0000-01-01T00:00:00Z',
      '9999-12-31T23:59:59Z',
    ];
    const events = timestamps.map((timestamp, index) => valid({ topic: 'edge.time', event_id: `t-${index}`, timestamp }));
    const reply = await publish(server.url, events);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.deepEqual((await allEvents(server.url, 'edge.time')).map((item) => item.timestamp), timestamps, 'timestamps are stored as sent, not normalised');
  });

  test('payloads msgpack could not carry unchanged, and odd but legal identities, round-trip exactly', async () => {
    // Built as text so that "__proto__" is a key, as JSON.parse makes it, not a prototype.
    const cases: [string, string][] = [
      ['proto-key', '{"__proto__":{"polluted":true},"b":1}'],
      ['nested-proto-key', '{"a":{"__proto__":null},"list":[{"__proto__":[1,2]}]}'],
      ['lone-surrogates', '{"high":"\\ud800","low":"x\\udfff","key\\udc00":1,"pair":"\\ud83d\\ude00"}'],
      ['nul-and-controls', '{"nul":"a\\u0000b","bell":"\\u0007","key\\u0000":"\\u001f"}'],
      ['constructor-keys', '{"constructor":{"prototype":{"x":1}},"toString":"no","hasOwnProperty":1}'],
      ['numbers', '{"big":1e308,"small":-1e-308,"max":9007199254740991,"neg":-0.5,"int":-2147483649}'],
      ['unicode', '{"emoji":"😀","rtl":"\u202e","zw":"\u200b","bom":"\ufeff","replacement":"\ufffd"}'],
    ];
    const sent = cases.map(([id, payload]) => JSON.parse(`{"topic":"edge.payload","event_id":${JSON.stringify(id)},"timestamp":"2025-10-22T10:30:00Z","source":"s","payload":${payload}}`));
    const identities = [
      valid({ topic: 'edge.id', event_id: "x'); DROP TABLE events; --", source: 'a\u0000b\u0007' }),
      valid({ topic: 'edge.id', event_id: '../../etc/passwd', source: 'x'.repeat(128) }),
      valid({ topic: 'shard-000.db', event_id: 'no-file-is-named-by-a-topic' }),
      valid({ topic: 'aggregator.json', event_id: 'e'.repeat(128) }),
      valid({ topic: 'edge.id', event_id: '😀'.repeat(32), source: '\u202e' }),
    ];
    const json = await publish(server.url, JSON.stringify([...sent, ...identities]));
    assert.equal(json.status, 200, JSON.stringify(json.body));
    assert.equal(json.body.unique, sent.length + identities.length);
    // msgpack strings are UTF-8, which has no lone surrogates: that one payload is a 400 there.
    const carried = [...sent, ...identities].filter((item) => item.event_id !== 'lone-surrogates');
    const msgpack = await publish(server.url, Buffer.from(pack(carried)), { contentType: 'application/msgpack' });
    assert.equal(msgpack.status, 200, JSON.stringify(msgpack.body));
    assert.equal(msgpack.body.duplicates, carried.length, 'the same events again, as msgpack: all duplicates');
    const surrogates = await publish(server.url, Buffer.from(pack(sent.find((item) => item.event_id === 'lone-surrogates'))), { contentType: 'application/msgpack' });
    assert.equal(surrogates.status, 400);
    const stored = new Map((await allEvents(server.url)).map((item) => [`${item.topic}/${item.event_id}`, item]));
    for (const item of [...sent, ...identities]) {
      const found = stored.get(`${item.topic}/${item.event_id}`);
      assert.ok(found, `${item.topic}/${item.event_id} missing`);
      assert.equal(JSON.stringify(found.payload), JSON.stringify(item.payload), `${item.event_id}: payload changed`);
      assert.equal(found.source, item.source, `${item.event_id}: source changed`);
      assert.ok(Object.hasOwn(found.payload, '__proto__') === Object.hasOwn(item.payload, '__proto__'), `${item.event_id}: __proto__ key`);
    }
    const files = (await readdir(server.dataDir)).filter((name) => !isServiceFile(name));
    assert.deepEqual(files, [], 'a topic named a file');
  });

  test('a msgpack body with a __proto__ key keeps it', async () => {
    const item = JSON.parse('{"topic":"edge.mp","event_id":"p","timestamp":"2025-10-22T10:30:00Z","source":"s","payload":{"__proto__":{"y":2},"k":1}}');
    const reply = await publish(server.url, Buffer.from(pack(item)), { contentType: 'application/msgpack' });
    assert.equal(reply.status, 200);
    const [stored] = await allEvents(server.url, 'edge.mp');
    assert.equal(JSON.stringify(stored.payload), '{"__proto__":{"y":2},"k":1}');
    const unknown = JSON.parse('{"topic":"edge.mp","event_id":"q","timestamp":"2025-10-22T10:30:00Z","source":"s","payload":{},"__proto__":{}}');
    const refused = await publish(server.url, Buffer.from(pack(unknown)), { contentType: 'application/msgpack' });
    assert.equal(refused.status, 422, 'a top-level __proto__ is an unknown field, not dropped');
    assert.equal(refused.body.error.details[0].path, '/__proto__');
  });

  test('two different Content-Length headers are refused', async () => {
    const text = JSON.stringify(valid({ event_id: 'smuggled' }));
    const reply = await rawHttp(server.port, `POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${text.length}\r\nContent-Length: 5\r\n\r\n${text}`, { timeoutMs: 2000 });
    assert.equal(reply.status, 400);
    assert.match(reply.text, /"bad_request"/);
    assert.equal((await allEvents(server.url)).filter((item) => item.event_id === 'smuggled').length, 0);
  });
});
