import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { NatsConnection, Status } from 'nats';
import { JetStreamLink } from '../../../src/cluster/jetstream-link.js';

/** A connection whose status events the test sends, on a clock the test sets. */
function fakeLink(t: TestContext, clock: { now: number; roundAt: number; ackAt: number }) {
  t.mock.method(performance, 'now', () => clock.now);
  const queue: Status[] = [];
  let wake: (() => void) | null = null;
  let reconnects = 0;
  const nc = {
    status: () => ({
      async *[Symbol.asyncIterator]() {
        for (;;) {
          while (queue.length > 0) yield queue.shift()!;
          await new Promise<void>((resolve) => (wake = resolve));
        }
      },
    }),
    reconnect: async () => {
      reconnects++;
    },
  } as unknown as NatsConnection;
  const notices: string[] = [];
  const link = new JetStreamLink(nc, { roundSilentMs: () => clock.now - clock.roundAt, lastAckAt: () => clock.ackAt, onNotice: (message) => notices.push(message) });
  t.after(() => link.stop());
  const send = async (status: Status): Promise<void> => {
    queue.push(status);
    wake?.();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { link, send, notices, reconnects: () => reconnects };
}

describe('JetStreamLink', () => {
  test('refuses once neither the membership round nor a PubAck came for 5 s; either one keeps it open', (t) => {
    const clock = { now: 100_000, roundAt: 100_000, ackAt: Number.NEGATIVE_INFINITY };
    const { link } = fakeLink(t, clock);
    assert.equal(link.refusal(), null);
    clock.now += 6000;
    assert.equal(link.refusal(), 'failed', 'a server without a quorum: nothing commits');
    assert.match(link.problem() ?? '', /JetStream has not answered for 6 s/);
    clock.ackAt = clock.now - 100;
    assert.equal(link.refusal(), null, 'a KV bucket re-electing its leader while the streams take writes');
    assert.equal(link.problem(), null);
    clock.ackAt = Number.NEGATIVE_INFINITY;
    clock.roundAt = clock.now;
    assert.equal(link.refusal(), null, 'an idle node whose round answers');
  });

  test('a lost connection is waited out for 3 s, then writes are refused until it is back', async (t) => {
    const clock = { now: 100_000, roundAt: 100_000, ackAt: 100_000 };
    const { link, send } = fakeLink(t, clock);
    await send({ type: 'disconnect', data: 'n1' } as Status);
    assert.equal(link.state, 'reconnecting');
    assert.equal(link.problem(), 'NATS reconnecting');
    clock.now += 2000;
    clock.roundAt = clock.ackAt = clock.now;
    assert.equal(link.refusal(), null, 'a moment: a server restarting, another taking over');
    clock.now += 2000;
    clock.roundAt = clock.ackAt = clock.now;
    assert.equal(link.refusal(), 'failed');
    await send({ type: 'reconnect', data: 'n2' } as Status);
    assert.equal(link.state, 'connected');
    assert.equal(link.refusal(), null);
  });
});
