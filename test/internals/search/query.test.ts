import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InvalidQueryError } from '../../../src/errors.js';
import { parseSearchQuery, printQuery, type QueryNode } from '../../../src/search/query.js';
import { queryNode } from './arbitraries.js';

const word = (...words: string[]): QueryNode => ({ kind: 'words', field: null, words, prefix: false });
const payload = (...path: string[]) => ({ kind: 'payload', path }) as const;

/** Asserts q is refused as a 400 invalid_query with exactly this message. */
function refuses(q: string, message: string): void {
  assert.throws(
    () => parseSearchQuery(q),
    (error: unknown) => {
      assert.ok(error instanceof InvalidQueryError, `${q}: ${String(error)}`);
      assert.equal(error.code, 'invalid_query');
      assert.equal(error.status, 400);
      assert.equal(error.message, message, q);
      return true;
    },
  );
}

describe('search query grammar', () => {
  test('empty and blank q match everything', () => {
    for (const q of ['', '   ', '\t\n']) assert.equal(parseSearchQuery(q), null);
    assert.equal(printQuery(null), '');
  });

  test('words, adjacency (AND), phrases, prefixes; a bare term of several words is a phrase', () => {
    assert.deepEqual(parseSearchQuery('Café'), word('cafe'));
    assert.deepEqual(parseSearchQuery('error  timeout'), { kind: 'and', children: [word('error'), word('timeout')] });
    assert.deepEqual(parseSearchQuery('error AND timeout'), parseSearchQuery('error timeout'), 'AND is adjacency spelled out');
    assert.deepEqual(parseSearchQuery('"Time  OUT"'), word('time', 'out'));
    assert.deepEqual(parseSearchQuery('"a*"'), word('a'), 'inside quotes * is no operator');
    assert.deepEqual(parseSearchQuery('10.0.0.1'), word('10', '0', '0', '1'));
    assert.deepEqual(parseSearchQuery('tim*'), { kind: 'words', field: null, words: ['tim'], prefix: true });
    assert.deepEqual(parseSearchQuery('Ca*'), { kind: 'words', field: null, words: ['ca'], prefix: true });
    assert.deepEqual(parseSearchQuery('web-ti*'), { kind: 'words', field: null, words: ['web', 'ti'], prefix: true });
    assert.deepEqual(parseSearchQuery('or and not'), { kind: 'and', children: [word('or'), word('and'), word('not')] }, 'lower-case keywords are words');
  });

  test('NOT, -, OR and parentheses: NOT binds tightest, OR loosest', () => {
    assert.deepEqual(parseSearchQuery('-error'), { kind: 'not', child: word('error') });
    assert.deepEqual(parseSearchQuery('NOT error'), { kind: 'not', child: word('error') });
    assert.deepEqual(parseSearchQuery('a b OR c'), { kind: 'or', children: [{ kind: 'and', children: [word('a'), word('b')] }, word('c')] });
    assert.deepEqual(parseSearchQuery('a (b OR c)'), { kind: 'and', children: [word('a'), { kind: 'or', children: [word('b'), word('c')] }] });
    assert.deepEqual(parseSearchQuery('NOT a OR b'), { kind: 'or', children: [{ kind: 'not', child: word('a') }, word('b')] });
    assert.deepEqual(parseSearchQuery('NOT (a OR b)'), { kind: 'not', child: { kind: 'or', children: [word('a'), word('b')] } });
    assert.deepEqual(parseSearchQuery('-"a b" -c'), { kind: 'and', children: [{ kind: 'not', child: word('a', 'b') }, { kind: 'not', child: word('c') }] }, 'only negations is allowed');
    assert.deepEqual(parseSearchQuery('a OR b OR c'), { kind: 'or', children: [word('a'), word('b'), word('c')] });
    assert.deepEqual(parseSearchQuery('((a))'), word('a'));
    assert.deepEqual(parseSearchQuery('NOT(a)'), { kind: 'not', child: word('a') });
  });

  test('fields: envelope, payload paths (payload. optional), equality with a number form, words, globs, comparisons', () => {
    assert.deepEqual(parseSearchQuery('level:error'), { kind: 'equals', field: payload('level'), value: 'error', number: null });
    assert.deepEqual(parseSearchQuery('payload.user.id:7'), { kind: 'equals', field: payload('user', 'id'), value: '7', number: 7 });
    assert.deepEqual(parseSearchQuery('user.id:7.0'), { kind: 'equals', field: payload('user', 'id'), value: '7.0', number: 7 });
    assert.deepEqual(parseSearchQuery('payload.source:x'), { kind: 'equals', field: payload('source'), value: 'x', number: null });
    assert.deepEqual(parseSearchQuery('source:web-1'), { kind: 'equals', field: { kind: 'envelope', name: 'source' }, value: 'web-1', number: null });
    assert.deepEqual(parseSearchQuery('event_id:7'), { kind: 'equals', field: { kind: 'envelope', name: 'event_id' }, value: '7', number: null });
    assert.deepEqual(parseSearchQuery('topic:auth.*'), { kind: 'equals', field: { kind: 'envelope', name: 'topic' }, value: 'auth.*', number: null });
    assert.deepEqual(parseSearchQuery('url:http://x/y'), { kind: 'equals', field: payload('url'), value: 'http://x/y', number: null }, 'the first : names the field');
    assert.deepEqual(parseSearchQuery('msg:"Time out"'), { kind: 'words', field: payload('msg'), words: ['time', 'out'], prefix: false });
    assert.deepEqual(parseSearchQuery('source:we*'), { kind: 'words', field: { kind: 'envelope', name: 'source' }, words: ['we'], prefix: true });
    assert.deepEqual(parseSearchQuery('topic:"auth login"'), { kind: 'words', field: { kind: 'envelope', name: 'topic' }, words: ['auth', 'login'], prefix: false });
    assert.deepEqual(parseSearchQuery('latency_ms:>=250.5'), { kind: 'compare', path: ['latency_ms'], op: '>=', value: 250.5 });
    assert.deepEqual(parseSearchQuery('a.b:<-1e3'), { kind: 'compare', path: ['a', 'b'], op: '<', value: -1000 });
    assert.deepEqual(parseSearchQuery('-count:>5'), { kind: 'not', child: { kind: 'compare', path: ['count'], op: '>', value: 5 } });
  });

  test('every error names its 1-based position and what was expected', () => {
    refuses('hello "world', 'q: unterminated quote at position 7');
    refuses('msg:"x', 'q: unterminated quote at position 5');
    refuses('a*', 'q: a prefix needs at least 2 letters or digits right before * at position 2');
    refuses('é*', 'q: a prefix needs at least 2 letters or digits right before * at position 2');
    refuses('*', 'q: a prefix needs at least 2 letters or digits right before * at position 1');
    refuses('ab.*', 'q: a prefix needs at least 2 letters or digits right before * at position 4');
    refuses('ab*c', 'q: * is allowed only at the end of a word at position 3');
    refuses('NOT', 'q: expected a term after NOT, found the end at position 4');
    refuses('a NOT', 'q: expected a term after NOT, found the end at position 6');
    refuses('NOT OR a', 'q: expected a term after NOT, found OR at position 5');
    refuses('-', 'q: expected a term after -, found the end at position 2');
    refuses('a - b', 'q: expected a term right after - at position 4');
    refuses('()', 'q: expected a term, found ) at position 2');
    refuses('(a', 'q: unclosed ( at position 1');
    refuses('a) b', 'q: unexpected ) with no ( to close at position 2');
    refuses('OR a', 'q: expected a term, found OR at position 1');
    refuses('a OR', 'q: expected a term after OR, found the end at position 5');
    refuses('a OR OR b', 'q: expected a term after OR, found OR at position 6');
    refuses('AND a', 'q: expected a term before AND at position 1');
    refuses('a AND', 'q: expected a term after AND, found the end at position 6');
    refuses('"!!"', 'q: "!!" has no letters or digits at position 1');
    refuses('ok !!', 'q: !! has no letters or digits at position 4');
    refuses('level:', 'q: expected a value after level: at position 7');
    refuses('level: error', 'q: expected a value after level: at position 7');
    refuses('level:(a OR b)', 'q: expected a value after level: (a field takes one value: write (f:a OR f:b)) at position 7');
    refuses(':x', 'q: expected a field name before : at position 1');
    refuses('a..b:1', 'q: a..b is not a field (source, topic, event_id, or a payload path: up to 8 names of letters, digits, _ and - joined by dots) at position 1');
    refuses('payload.:1', 'q: payload. is not a field (source, topic, event_id, or a payload path: up to 8 names of letters, digits, _ and - joined by dots) at position 1');
    refuses('a.b.c.d.e.f.g.h.i:1', 'q: a.b.c.d.e.f.g.h.i is not a field (source, topic, event_id, or a payload path: up to 8 names of letters, digits, _ and - joined by dots) at position 1');
    refuses('ok topic:>5', 'q: > compares a payload field, not topic at position 10');
    refuses('n:>=x', 'q: expected a number after n:>= at position 5');
    refuses('n:<', 'q: expected a number after n:< at position 4');
    refuses('msg:"!!"', 'q: "!!" has no letters or digits at position 5');
    refuses('msg:x*y', 'q: * is allowed only at the end of a word at position 6');
    refuses('日本 "x', 'q: unterminated quote at position 4');
    refuses('😀😀 "x', 'q: unterminated quote at position 4');
  });

  test('limits: 1 KiB (UTF-8), 16 terms, depth 8', () => {
    assert.ok(parseSearchQuery('a'.repeat(1024)));
    refuses('a'.repeat(1025), 'q: longer than 1024 bytes (UTF-8) at position 1025');
    refuses('é'.repeat(513), 'q: longer than 1024 bytes (UTF-8) at position 513');
    const terms = (n: number, join: string) => Array.from({ length: n }, (_, index) => `w${index}`).join(join);
    assert.ok(parseSearchQuery(terms(16, ' OR ')));
    refuses(terms(17, ' '), 'q: more than 16 terms at position 55');
    refuses(`-(${terms(17, ' OR ')})`, 'q: more than 16 terms at position 105');
    assert.ok(parseSearchQuery(`${'('.repeat(8)}a${')'.repeat(8)}`));
    assert.ok(parseSearchQuery(`${'NOT '.repeat(4)}${'('.repeat(4)}a${')'.repeat(4)}`));
    refuses(`${'('.repeat(9)}a${')'.repeat(9)}`, 'q: nested deeper than 8 (parentheses and NOT) at position 9');
    refuses(`${'-'.repeat(9)}a`, 'q: nested deeper than 8 (parentheses and NOT) at position 9');
  });

  test('hostile input fails fast with invalid_query, never a stack overflow', () => {
    const hostile = [
      'x'.repeat(1 << 20),
      Array.from({ length: 10_000 }, (_, index) => `w${index}`).join(' OR '),
      Array.from({ length: 300 }, () => 'a').join(' OR '),
      `${'('.repeat(100)}a${')'.repeat(100)}`,
      `${'('.repeat(1024)}`,
      `${'-'.repeat(1023)}a`,
      `${'NOT '.repeat(100)}a`,
      '"'.repeat(1023),
      `${'a*'.repeat(500)}`,
    ];
    // Refused before any work that grows with them (no recursion per parenthesis past the depth
    // limit, no scan past the byte limit): an exponential or stack-deep parser would hang or throw
    // RangeError here instead.
    for (const q of hostile) assert.throws(() => parseSearchQuery(q), { code: 'invalid_query' }, q.slice(0, 30));
  });

  test('printQuery gives canonical text', () => {
    assert.equal(printQuery(parseSearchQuery('-a (b OR c) x:"P Q" payload.topic:1 payload.payload.x:2 n:>=3 y:ab.cd*')), 'NOT a (b OR c) x:"p q" payload.topic:1 payload.payload.x:2 n:>=3 y:ab.cd*');
    assert.throws(() => printQuery({ kind: 'words', field: { kind: 'envelope', name: 'topic' }, words: ['ab'], prefix: true }), /no query text/);
  });

  test('property: parse(print(ast)) is the same ast', () => {
    fc.assert(
      fc.property(queryNode, (ast) => {
        assert.deepEqual(parseSearchQuery(printQuery(ast)), ast);
      }),
      { numRuns: 1000 },
    );
  });
});
