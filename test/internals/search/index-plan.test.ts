import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { indexText, kLeafBoundary, planIndex } from '../../../src/search/index-plan.js';
import { matchesQuery } from '../../../src/search/match.js';
import { parseSearchQuery } from '../../../src/search/query.js';
import { searchSchema } from '../../../src/store/search-index.js';
import { queryNode, searchableEvent } from './arbitraries.js';

/** A real FTS5 table as the shard writer makes it, holding `events` at rowid = position + 1. */
function indexOf(events: readonly { source: string; payload: unknown }[]): Database.Database {
  const db = new Database(':memory:');
  db.exec(searchSchema);
  const insert = db.prepare('INSERT INTO search_words (rowid, words) VALUES (?, ?)');
  events.forEach((event, index) => insert.run(index + 1, indexText(event.source, event.payload)));
  return db;
}

describe('planIndex', () => {
  test('the index finds every match (never fewer), and exactly the matches when the plan says exact (property, real FTS5)', () => {
    fc.assert(
      fc.property(fc.array(searchableEvent, { minLength: 1, maxLength: 25 }), fc.array(queryNode, { minLength: 1, maxLength: 10 }), (events, queries) => {
        const db = indexOf(events);
        const lookup = db.prepare('SELECT rowid FROM search_words WHERE search_words MATCH ? ORDER BY rowid').pluck();
        try {
          for (const query of queries) {
            const plan = planIndex(query);
            if (plan === null) continue;
            const found = new Set(lookup.all(plan.match) as number[]);
            const matching = events.flatMap((event, index) => (matchesQuery(query, event) ? [index + 1] : []));
            for (const rowid of matching) assert.ok(found.has(rowid), `${plan.match} misses event ${rowid}`);
            if (plan.exact) assert.deepEqual([...found], matching, `${plan.match} is exact`);
          }
        } finally {
          db.close();
        }
      }),
      { numRuns: 150, seed: 24 },
    );
  });

  test('a phrase does not run across two leaves; words with accents and other scripts are one token each', () => {
    const db = indexOf([
      { source: 'api', payload: { a: 'connection', b: 'timeout' } },
      { source: 'api', payload: { msg: 'connection timeout' } },
      { source: 'Café 東京', payload: { msg: 'Ünïcode ЖУК' } },
    ]);
    const found = (q: string) => db.prepare('SELECT rowid FROM search_words WHERE search_words MATCH ?').pluck().all(planIndex(parseSearchQuery(q))!.match);
    assert.deepEqual(found('"connection timeout"'), [2]);
    assert.deepEqual(found('connection timeout'), [1, 2]);
    assert.deepEqual(found('cafe'), [3]);
    assert.deepEqual(found('東京'), [3]);
    assert.deepEqual(found('unicode жук'), [3]);
    assert.deepEqual(found('жу*'), [3]);
    assert.ok(indexText('s', { a: 'x', b: 'y' }).includes(kLeafBoundary));
    db.close();
  });

  test('what the index cannot narrow plans to nothing; field terms narrow but are not exact', () => {
    assert.equal(planIndex(null), null);
    assert.equal(planIndex(parseSearchQuery('-error')), null);
    assert.equal(planIndex(parseSearchQuery('count:>5')), null);
    assert.equal(planIndex(parseSearchQuery('topic:auth.*')), null);
    assert.equal(planIndex(parseSearchQuery('error OR count:>5')), null);
    assert.deepEqual(planIndex(parseSearchQuery('error -timeout')), { match: '(("error")) NOT ("timeout")', exact: true });
    assert.deepEqual(planIndex(parseSearchQuery('level:error')), { match: '"error"', exact: false });
    assert.deepEqual(planIndex(parseSearchQuery('count:7.0')), { match: '"7 0" OR "7"', exact: false });
    assert.equal(planIndex(parseSearchQuery('flag:true')), null);
  });
});
