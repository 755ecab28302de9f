import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bellOf, kHeaders, kMaxMessageBytes, streamName, subjectOf } from '../../../src/cluster/log-message.js';

describe('log message', () => {
  test('each shard has its own stream and subject, and no subject matches another shard\'s', () => {
    const names = new Set<string>();
    const subjects = new Set<string>();
    for (let shard = 0; shard < 64; shard++) {
      names.add(streamName(shard));
      subjects.add(subjectOf(shard));
      // Stream names may not hold '.', '*', '>' or spaces; a subject token may not be a wildcard.
      assert.match(streamName(shard), /^[A-Za-z0-9_-]+$/);
      assert.match(subjectOf(shard), /^[a-z0-9]+(\.[a-z0-9]+)+$/);
    }
    assert.equal(names.size, 64);
    assert.equal(subjects.size, 64);
    assert.equal(subjectOf(1).startsWith(`${subjectOf(1)}.`), false);
    assert.equal(streamName(3), 'AGG_3', 'existing streams are found by this name: it may not change');
    assert.equal(subjectOf(3), 'agg.3');
  });

  test('a shard\'s bell is not a subject its stream takes (a bell must not be logged), and nodes of one version ring the same', () => {
    for (let shard = 0; shard < 64; shard++) {
      for (let other = 0; other < 64; other++) assert.notEqual(bellOf(shard), subjectOf(other));
      assert.match(bellOf(shard), /^[a-z0-9]+(\.[a-z0-9]+)+$/);
    }
    assert.equal(bellOf(3), 'agg.bell.3');
  });

  test('the headers are distinct and none is one NATS reserves', () => {
    const names = Object.values(kHeaders);
    assert.equal(new Set(names.map((name) => name.toLowerCase())).size, names.length);
    for (const name of names) assert.ok(!name.toLowerCase().startsWith('nats-'), name);
    for (const name of names) assert.match(name, /^[!-9;-~]+$/, 'an HTTP-style header name: printable, no colon');
  });

  test('a message\'s data leaves room for its headers under NATS\' default 1 MiB max_payload', () => {
    assert.ok(kMaxMessageBytes < 1024 * 1024);
    assert.ok(1024 * 1024 - kMaxMessageBytes >= 4 * 1024, 'room for the headers');
    assert.ok(kMaxMessageBytes >= 512 * 1024, 'and a useful share of the payload');
  });
});
