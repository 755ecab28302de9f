/**
 * Slow and abusive clients, on raw sockets: slowloris bodies, clients that abort mid-body, thousands
 * of idle connections, clients that never read their answers. Each time the server's RSS (read from
 * /proc) stays within a stated bound and a normal client still gets its 200s meanwhile.
 * The body caps are small here (1 MiB bodies, 4 MiB buffered in all) so that a leak or a hoarded
 * reservation would show at once. IDLE_CONNECTIONS and SLOWLORIS_CLIENTS scale the runs up.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test, type TestContext } from 'node:test';
import { event, getJson, publish, readRssKiB, RssSampler, startServer, stats, waitFor, type TestServer } from './helper.js';

const MiB = 1024 * 1024;
const openFileLimit = Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim()) || 1024;
// Both ends of each connection live on this machine, with the same limit: keep well inside it.
const idleConnections = Math.min(Number(process.env.IDLE_CONNECTIONS ?? 2000), Math.floor((openFileLimit - 256) / 2));
const slowlorisClients = Number(process.env.SLOWLORIS_CLIENTS ?? 200);
/** Growth allowed over the server's RSS before the abuse, for each scenario. */
const rssGrowthBound = 96 * MiB;

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Every socket a test opened: destroyed when the file ends, so a failed test cannot hold the run open. */
const opened = new Set<Socket>();
after(() => {
  for (const socket of opened) socket.destroy();
});

/** Opens `count` connections, at most 200 being opened at a time. */
async function openSockets(port: number, count: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let offset = 0; offset < count; offset += 200) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(200, count - offset) }, () => openSocket(port)))));
  }
  for (const socket of sockets) {
    opened.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => opened.delete(socket));
  }
  return sockets;
}

/** A normal client meanwhile: `count` publishes of 10 events, each must be a 200. */
async function normalClient(url: string, label: string, count: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let request = 0; request < count; request++) {
    const started = performance.now();
    const reply = await publish(url, Array.from({ length: 10 }, (_, index) => event({ topic: 'normal', event_id: `${label}-${request}-${index}` })));
    latencies.push(performance.now() - started);
    assert.equal(reply.status, 200, `${label}: a normal client was refused: ${JSON.stringify(reply.body)}`);
  }
  return latencies;
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

/** Samples the server's RSS from now on; finish() stops, reports, and fails on growth past rssGrowthBound. */
function watchRssGrowth(t: TestContext, pid: number): { finish(what?: string): void } {
  const baseline = readRssKiB(pid)! * 1024;
  const rss = new RssSampler(pid, 50);
  return {
    finish(what = '') {
      rss.stop();
      const peak = rss.peakKiB! * 1024;
      t.diagnostic(`${what}RSS ${mib(baseline)} before, peak ${mib(peak)}`);
      assert.ok(peak - baseline < rssGrowthBound, `RSS grew by ${mib(peak - baseline)}`);
    },
  };
}

describe('slow and abusive clients', () => {
  let server: TestServer;
  let pid: number;
  before(async () => {
    server = await startServer({ shards: 2, args: ['--max-body-bytes', String(MiB), '--max-buffered-body-bytes', String(4 * MiB)] });
    pid = server.child.pid!;
    await normalClient(server.url, 'warm-up', 5);
  });

  test('slowloris bodies announcing 1 MiB and dripping a byte at a time neither lock out publishers nor grow memory', async (t) => {
    const rss = watchRssGrowth(t, pid);
    const sockets = await openSockets(server.port, slowlorisClients);
    for (const socket of sockets) socket.write(`POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${MiB}\r\n\r\n[`);
    await waitFor(async () => (await stats(server.url)).in_flight_requests >= slowlorisClients, 'every slow body to be in flight');
    // Together they announce 50x the 4 MiB body budget; reserving announced bytes would lock everyone out.
    const drip = setInterval(() => {
      for (const socket of sockets) socket.write(' ');
    }, 50);
    try {
      const latencies = await normalClient(server.url, 'beside-slowloris', 40);
      t.diagnostic(`normal client p50 ${latencies.sort((a, b) => a - b)[20]!.toFixed(1)} ms beside ${slowlorisClients} slowloris bodies`);
      assert.equal((await stats(server.url)).in_flight_requests, slowlorisClients, 'the slow bodies are still being read');
    } finally {
      clearInterval(drip);
      for (const socket of sockets) socket.destroy();
    }
    await waitFor(async () => (await stats(server.url)).in_flight_requests === 0, 'the slow bodies to be dropped');
    rss.finish();
  });

  test('clients that abort mid-body leave nothing behind: the body budget is whole again and nothing is stored', async (t) => {
    const before = await stats(server.url);
    const rounds = 5;
    const clients = 40;
    const half = Buffer.alloc(MiB / 2, 0x20);
    for (let round = 0; round < rounds; round++) {
      const sockets = await openSockets(server.port, clients);
      await Promise.all(
        sockets.map(
          (socket) =>
            new Promise<void>((resolve) => {
              socket.write(`POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${MiB}\r\n\r\n[`);
              socket.write(half, () => resolve());
            }),
        ),
      );
      await waitFor(async () => (await stats(server.url)).in_flight_requests >= clients, 'the bodies to be in flight');
      for (const socket of sockets) socket.destroy();
      await waitFor(async () => (await stats(server.url)).in_flight_requests === 0, 'the aborted bodies to be dropped');
    }
    // 100 MiB were aborted against a 4 MiB budget; four bodies of ~0.9 MiB at once need it nearly whole.
    const big = (label: string) => Array.from({ length: 100 }, (_, index) => event({ topic: 'after-abort', event_id: `${label}-${index}`, payload: { pad: 'p'.repeat(9000) } }));
    const replies = await Promise.all(['a', 'b', 'c', 'd'].map((label) => publish(server.url, big(label))));
    assert.deepEqual(replies.map((reply) => reply.status), [200, 200, 200, 200], JSON.stringify(replies.map((reply) => reply.body)));
    const after = await stats(server.url);
    assert.equal(after.received - before.received, 400, 'only the four complete bodies were stored');
    t.diagnostic(`${rounds * clients} bodies aborted halfway (${rounds * clients / 2} MiB against a 4 MiB budget)`);
  });

  test('thousands of idle connections do not stop a normal client, and memory stays bounded', async (t) => {
    const rss = watchRssGrowth(t, pid);
    const idle = await openSockets(server.port, idleConnections);
    // A few hundred more that stop mid-headers, the other slowloris.
    const partial = await openSockets(server.port, Math.min(500, idleConnections));
    for (const socket of partial) socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    try {
      await normalClient(server.url, 'beside-idle', 20);
      assert.equal((await getJson(`${server.url}/events?limit=10`)).status, 200);
      assert.equal((await getJson(`${server.url}/health`)).status, 200);
      const closedEarly = [...idle, ...partial].filter((socket) => socket.destroyed).length;
      t.diagnostic(`${idle.length} idle + ${partial.length} half-sent connections open (${closedEarly} closed by the server meanwhile)`);
    } finally {
      for (const socket of [...idle, ...partial]) socket.destroy();
    }
    rss.finish();
  });

  test('clients that never read their answers get no unbounded buffering, and others are served', async (t) => {
    // 1 000 events of ~1 KiB: each /events page of 1 000 is over 1 MiB.
    for (let batch = 0; batch < 10; batch++) {
      const reply = await publish(server.url, Array.from({ length: 100 }, (_, index) => event({ topic: 'wide', event_id: `w-${batch}-${index}`, payload: { pad: 'w'.repeat(1000) } })));
      assert.equal(reply.status, 200);
    }
    const rss = watchRssGrowth(t, pid);
    const readers = 4;
    const pipelined = 300;
    const sockets = await openSockets(server.port, readers);
    for (const socket of sockets) {
      socket.pause(); // never read: the kernel buffers fill, then the server's
      socket.write('GET /events?topic=wide&limit=1000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(pipelined));
    }
    // Also one that publishes and never reads the answers.
    const publisher = (await openSockets(server.port, 1))[0]!;
    publisher.pause();
    const body = JSON.stringify(event({ topic: 'unread', event_id: 'u' }));
    publisher.write(`POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`.repeat(pipelined));
    try {
      await normalClient(server.url, 'beside-unread', 20);
      const page = await getJson(`${server.url}/events?topic=wide&limit=1000`);
      assert.equal(page.status, 200);
      assert.equal(page.body.count, 1000);
    } finally {
      for (const socket of [...sockets, publisher]) socket.destroy();
      rss.finish(`${readers} x ${pipelined} pipelined pages of ~1.1 MiB never read (${mib(readers * pipelined * 1.1 * MiB)} asked for): `);
    }
    await waitFor(async () => (await stats(server.url)).in_flight_requests === 0, 'the unread publishes to settle');
    assert.equal((await getJson(`${server.url}/health`)).status, 200);
  });
});
