import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { globMatches } from '../../../src/search/glob.js';
import { matchesQuery, type SearchableEvent } from '../../../src/search/match.js';
import { parseSearchQuery, printQuery, type FieldRef, type QueryNode } from '../../../src/search/query.js';
import { queryNode, searchableEvent } from './arbitraries.js';

const event = (payload: unknown, envelope: Partial<SearchableEvent> = {}): SearchableEvent => ({ topic: 'auth.login', event_id: 'e1', source: 'web-1', payload, ...envelope });
const matches = (q: string, target: SearchableEvent): boolean => matchesQuery(parseSearchQuery(q), target);

/**
 * A second, independently written evaluator over the same AST: text folded whole and split on
 * non-word characters, phrases found as space-joined substrings, payload flattened into
 * (dotted key, leaf) pairs with arrays invisible in the keys.
 */
function reference(node: QueryNode, target: SearchableEvent): boolean {
  const fold = (text: string) => text.toLowerCase().normalize('NFD').replace(/\p{M}/gu, '');
  const tokens = (text: string) => fold(text).split(/[^\p{L}\p{N}]+/u).filter((token) => token !== '');
  const pairs: [string, unknown][] = [];
  const flatten = (value: unknown, key: string): void => {
    if (Array.isArray(value)) for (const element of value) flatten(element, key);
    else if (typeof value === 'object' && value !== null) for (const [name, child] of Object.entries(value)) flatten(child, key === '' ? name : `${key}.${name}`);
    else pairs.push([key, value]);
  };
  flatten(target.payload, '');
  const textOf = (leaf: unknown): string[] => (typeof leaf === 'string' ? [leaf] : typeof leaf === 'number' ? [String(leaf)] : []);
  const fieldTexts = (field: FieldRef | null): string[] => {
    if (field === null) return [target.source, ...pairs.flatMap(([, leaf]) => textOf(leaf))];
    if (field.kind === 'envelope') return [target[field.name]];
    const key = field.path.join('.');
    return pairs.filter(([name]) => name === key || name.startsWith(`${key}.`)).flatMap(([, leaf]) => textOf(leaf));
  };
  const leavesAt = (path: readonly string[]) => pairs.filter(([name]) => name === path.join('.')).map(([, leaf]) => leaf);
  switch (node.kind) {
    case 'and':
      return node.children.every((child) => reference(child, target));
    case 'or':
      return node.children.some((child) => reference(child, target));
    case 'not':
      return !reference(node.child, target);
    case 'words': {
      const needle = ` ${node.words.join(' ')}${node.prefix ? '' : ' '}`;
      return fieldTexts(node.field).some((text) => ` ${tokens(text).join(' ')} `.includes(needle));
    }
    case 'equals': {
      const { field, value } = node;
      if (field.kind === 'envelope') {
        if (field.name !== 'topic' || !value.includes('*')) return target[field.name] === value;
        return new RegExp(`^${value.split('*').map((part) => part.replace(/[.]/g, '\\.')).join('.*')}$`).test(target.topic);
      }
      const asNumber = value.trim() === '' ? Number.NaN : Number(value);
      return leavesAt(field.path).some((leaf) => (typeof leaf === 'number' ? leaf === asNumber : typeof leaf === 'boolean' ? `${leaf}` === value : leaf === value));
    }
    case 'compare': {
      const { op, value } = node;
      return leavesAt(node.path).some((leaf) => typeof leaf === 'number' && (op === '>' ? leaf > value : op === '>=' ? leaf >= value : op === '<' ? leaf < value : leaf <= value));
    }
  }
}

describe('search matching', () => {
  const login = event({ level: 'Error', msg: 'User 7 timed out at Café-Db', count: 7, ratio: '7', ok: true, user: [{ id: 5 }, { id: '7' }], tags: ['a b', ['deep tag']], nested: { msg: 'inner words' }, 'k-1': null }, { source: 'web-1.prod' });

  test('words anywhere in the payload leaves or the source; case and diacritics folded; keys, topic, event_id are no text', () => {
    for (const q of ['cafe', 'CAFÉ', 'timed', 'user 7', 'web', 'prod', 'deep', 'inner', '7', '5', 'tim*', 'ca*', 'web-1.pro*', 'error'])
      assert.equal(matches(q, login), true, q);
    for (const q of ['level', 'msg', 'nested', 'auth', 'login', 'e1', 'true', 'timeouts', 'tims*', 'null', 'web-pro*']) assert.equal(matches(q, login), false, q);
  });

  test('a phrase is adjacent words in order within one field text', () => {
    assert.equal(matches('"timed out"', login), true);
    assert.equal(matches('"out timed"', login), false);
    assert.equal(matches('"user timed"', login), false, 'not adjacent');
    assert.equal(matches('"b deep"', login), false, 'two array elements are two texts');
    assert.equal(matches('"cafe db"', login), true);
    assert.equal(matches('"at ca*"', login), false, 'quotes make * plain');
    assert.equal(matches('at.caf*', login), true, 'a bare phrase whose last word is a prefix');
  });

  test('boolean structure; a query of negations alone; the empty query', () => {
    assert.equal(matches('cafe -nothere', login), true);
    assert.equal(matches('-cafe', login), false);
    assert.equal(matches('NOT (nothere OR cafe)', login), false);
    assert.equal(matches('nothere OR cafe', login), true);
    assert.equal(matches('nothere cafe OR timed', login), true);
    assert.equal(matches('', login), true);
    assert.equal(matchesQuery(null, event(null)), true);
  });

  test('field equality follows /events payload.<path>=: numbers as numbers, strings exactly', () => {
    assert.equal(matches('count:7', login), true);
    assert.equal(matches('count:7.0', login), true, 'a JSON number equals the value read as a number');
    assert.equal(matches('ratio:7', login), true, 'a string equals the text');
    assert.equal(matches('ratio:7.0', login), false, 'a numeric string is compared as text');
    assert.equal(matches('level:Error', login), true);
    assert.equal(matches('level:error', login), false, 'equality is exact, case included');
    assert.equal(matches('level:err*', login), true, 'field:pre* is words, folded');
    assert.equal(matches('msg:"timed out"', login), true);
    assert.equal(matches('msg:"web"', login), false);
    assert.equal(matches('ok:true', login), true);
    assert.equal(matches('ok:1', login), false);
    assert.equal(matches('k-1:null', login), false, 'null equals nothing');
    assert.equal(matches('nested:"inner"', login), true, 'words below the path');
    assert.equal(matches('nested:x', login), false, 'an object equals nothing');
    assert.equal(matches('missing:x', login), false);
  });

  test('arrays at and along a path: any element', () => {
    assert.equal(matches('user.id:5', login), true);
    assert.equal(matches('user.id:7', login), true);
    assert.equal(matches('user.id:6', login), false);
    assert.equal(matches('tags:"deep tag"', login), true);
    assert.equal(matches('payload.tags:"a b"', login), true);
    assert.equal(matches('user.id:>6', login), false, 'comparison reads JSON numbers only; "7" is text');
    assert.equal(matches('user.id:>4', login), true);
  });

  test('comparisons', () => {
    for (const [q, expected] of [['count:>6', true], ['count:>7', false], ['count:>=7', true], ['count:<7', false], ['count:<=7', true], ['count:<7.5', true], ['ratio:>1', false], ['level:>0', false]] as const) {
      assert.equal(matches(q, login), expected, q);
    }
  });

  test('envelope fields: source and event_id exact, topic exact or glob', () => {
    assert.equal(matches('source:web-1.prod', login), true);
    assert.equal(matches('source:web-1', login), false);
    assert.equal(matches('source:we*', login), true);
    assert.equal(matches('source:"1 prod"', login), true);
    assert.equal(matches('event_id:e1', login), true);
    assert.equal(matches('event_id:E1', login), false);
    for (const [glob, expected] of [['auth.login', true], ['auth.*', true], ['*.login', true], ['*', true], ['a*n', true], ['auth', false], ['*.prod', false], ['auth.login*', true], ['*x*', false]] as const) {
      assert.equal(matches(`topic:${glob}`, login), expected, glob);
    }
    assert.equal(matches('topic:"auth login"', login), true);
  });

  // A backtracking glob would take exponential time on these, and a recursive walk would overflow the stack on the payload.
  test('a long glob and a deep payload are answered', () => {
    assert.equal(globMatches(`${'*a'.repeat(60)}*b`, 'a'.repeat(128)), false);
    assert.equal(matches(`topic:${'*a'.repeat(400)}`, event({}, { topic: 'a'.repeat(128) })), false);
    let deep: unknown = 'bottom word';
    for (let depth = 0; depth < 100_000; depth++) deep = [{ x: deep }];
    assert.equal(matches('bottom', event(deep)), true);
  });

  test('property: matchesQuery(parse(print(ast))) agrees with an independent evaluator of the ast', () => {
    let matched = 0;
    let runs = 0;
    fc.assert(
      fc.property(queryNode, fc.array(searchableEvent, { minLength: 1, maxLength: 4 }), (ast, events) => {
        const query = parseSearchQuery(printQuery(ast));
        for (const target of events) {
          const expected = reference(ast, target);
          assert.equal(matchesQuery(query, target), expected, `${printQuery(ast)} on ${JSON.stringify(target)}`);
          runs++;
          if (expected) matched++;
        }
      }),
      { numRuns: 1500 },
    );
    assert.ok(matched > runs / 10 && matched < runs * 0.9, `both answers are exercised: ${matched} of ${runs} matched`);
  });
});
