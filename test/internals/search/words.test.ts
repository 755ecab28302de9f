import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { normaliseWord, trailingWord, unicodeWordsOf, wordsOf } from '../../../src/search/words.js';

describe('search words', () => {
  test('words are runs of letters, digits and marks, lower-cased, without diacritics', () => {
    assert.deepEqual(wordsOf('Café au lait'), ['cafe', 'au', 'lait']);
    assert.deepEqual(wordsOf('CAFÉ cafe\u0301 Cafe'), ['cafe', 'cafe', 'cafe']);
    assert.deepEqual(wordsOf('user@example.com: GET /api/v2?id=42'), ['user', 'example', 'com', 'get', 'api', 'v2', 'id', '42']);
    assert.deepEqual(wordsOf('trace_id=ab-12_cd'), ['trace', 'id', 'ab', '12', 'cd'], '_ and - separate words');
    assert.deepEqual(wordsOf('Ünïcödé Straße ÅNGSTRÖM'), ['unicode', 'straße', 'angstrom']);
    assert.deepEqual(wordsOf('日本語のテキスト ٣٤ Ελληνικά'), ['日本語のテキスト', '٣٤', 'ελληνικα']);
    assert.deepEqual(wordsOf('İstanbul'), ['istanbul'], 'the dot above İ lower-cases to a mark and is dropped');
    assert.deepEqual(wordsOf('!!! -- \u0301 ...'), [], 'a run of marks alone is no word');
    assert.deepEqual(wordsOf(''), []);
  });

  test('property: the ASCII path cuts every text exactly as the general rule does', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary-ascii', maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 30 })), (text) => {
        assert.deepEqual(wordsOf(text), unicodeWordsOf(text));
      }),
      { numRuns: 2000 },
    );
  });

  test('normaliseWord and trailingWord', () => {
    assert.equal(normaliseWord('Crème'), 'creme');
    assert.equal(trailingWord('foo.Bár'), 'bar');
    assert.equal(trailingWord('foo.'), '');
    assert.equal(trailingWord(''), '');
  });

  test('property: normalising is idempotent, and a word is its own only word', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 })), (text) => {
        for (const word of wordsOf(text)) {
          assert.equal(normaliseWord(word), word);
          assert.deepEqual(wordsOf(word), [word]);
          assert.deepEqual(wordsOf(`x ${word}.y`), ['x', word, 'y']);
        }
        assert.deepEqual(wordsOf(wordsOf(text).join(' ')), wordsOf(text));
      }),
      { numRuns: 2000 },
    );
  });
});
