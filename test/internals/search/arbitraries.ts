/** Random search queries (as ASTs) and small events over one shared vocabulary, so matches happen often. */
import fc from 'fast-check';
import { fieldNumber } from '../../../src/events/query.js';
import type { Comparison, FieldRef, QueryNode } from '../../../src/search/query.js';

const vocabulary = ['error', 'timeout', 'cafe', 'time', 'out', 'web', 'db', 'user', '7', '5', 'auth', 'login', 'ok', 'host'];
const prefixes = ['er', 'ti', 'ca', 'we', 'lo', 'us', 'ou', 'ho', '7', '75'].filter((prefix) => prefix.length >= 2);
const texts = ['Error', 'error', 'time out', 'Timeout!', 'Café', 'café-db', 'web-1', 'user 7', 'ERROR: time-out at web', '7', '7.5', 'login ok', 'Out of time', ''];
const paths = [['level'], ['msg'], ['count'], ['user', 'id'], ['user'], ['tags'], ['source'], ['payload', 'msg'], ['nested', 'msg'], ['nested']];

const payloadField = fc.constantFrom(...paths).map((path): FieldRef => ({ kind: 'payload', path }));
const envelopeField = (...names: ('source' | 'topic' | 'event_id')[]): fc.Arbitrary<FieldRef> => fc.constantFrom(...names).map((name) => ({ kind: 'envelope', name }));

const wordsLeaf: fc.Arbitrary<QueryNode> = fc
  .record({
    field: fc.option(fc.oneof(payloadField, envelopeField('source', 'event_id', 'topic')), { nil: null }),
    words: fc.array(fc.constantFrom(...vocabulary), { minLength: 1, maxLength: 3 }),
    prefix: fc.option(fc.constantFrom(...prefixes), { nil: null }),
  })
  .map(({ field, words, prefix }): QueryNode => {
    const isTopic = field?.kind === 'envelope' && field.name === 'topic';
    return prefix === null || isTopic ? { kind: 'words', field, words, prefix: false } : { kind: 'words', field, words: [...words.slice(0, -1), prefix], prefix: true };
  });

const equalsLeaf: fc.Arbitrary<QueryNode> = fc.oneof(
  fc.tuple(payloadField, fc.constantFrom('error', 'Error', '7', '7.0', '7.5', '-3', 'true', 'false', 'null', 'web-1', 'x', 'Café')).map(([field, value]): QueryNode => ({ kind: 'equals', field, value, number: fieldNumber(value) })),
  fc.tuple(envelopeField('source', 'event_id'), fc.constantFrom('web-1', 'db', 'e1', 'e2', 'Café')).map(([field, value]): QueryNode => ({ kind: 'equals', field, value, number: null })),
  fc.constantFrom('auth.*', '*.prod', 'auth.login', '*', 'web.prod', 'a*n*', '*o*o*').map((value): QueryNode => ({ kind: 'equals', field: { kind: 'envelope', name: 'topic' }, value, number: null })),
);

const compareLeaf: fc.Arbitrary<QueryNode> = fc
  .tuple(fc.constantFrom(...paths), fc.constantFrom<Comparison>('>', '>=', '<', '<='), fc.constantFrom(-3, 0, 5, 7, 7.5, 10))
  .map(([path, op, value]): QueryNode => ({ kind: 'compare', path, op, value }));

function leaves(node: QueryNode): number {
  if (node.kind === 'and' || node.kind === 'or') return node.children.reduce((sum, child) => sum + leaves(child), 0);
  return node.kind === 'not' ? leaves(node.child) : 1;
}

/** Queries the parser can produce, at most 16 terms and 3 operators deep (each adds at most 2 levels of NOT and parentheses). */
export const queryNode: fc.Arbitrary<QueryNode> = fc
  .letrec<{ node: QueryNode }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true, maxDepth: 3 },
      fc.oneof(wordsLeaf, wordsLeaf, equalsLeaf, compareLeaf),
      fc.tuple(fc.constantFrom('and' as const, 'or' as const), fc.array(tie('node'), { minLength: 2, maxLength: 3 })).map(([kind, children]): QueryNode => ({ kind, children })),
      tie('node').map((child): QueryNode => ({ kind: 'not', child })),
    ),
  }))
  .node.filter((node) => leaves(node) <= 16);

const text = fc.constantFrom(...texts);
const scalar = fc.oneof(text, fc.constantFrom(7, 7.5, -3, 10, 0, true, false, null, '7', '7.0', 'true'));

export const searchableEvent = fc.record({
  topic: fc.constantFrom('auth.login', 'auth.prod', 'web.prod', 'db'),
  event_id: fc.constantFrom('e1', 'e2', 'E1'),
  source: fc.constantFrom('web-1', 'db', 'Café host', 'time server'),
  payload: fc.record(
    {
      level: fc.constantFrom('error', 'Error', 'info', 7, true),
      msg: fc.oneof(text, fc.array(text, { maxLength: 3 })),
      count: fc.oneof(scalar, fc.array(scalar, { maxLength: 3 })),
      user: fc.oneof(text, fc.record({ id: scalar }), fc.array(fc.record({ id: scalar }), { maxLength: 2 })),
      tags: fc.array(fc.oneof(scalar, fc.array(scalar, { maxLength: 2 })), { maxLength: 3 }),
      source: text,
      payload: fc.record({ msg: scalar }),
      nested: fc.record({ msg: scalar, deeper: fc.record({ x: scalar }) }, { requiredKeys: [] }),
    },
    { requiredKeys: [] },
  ),
});
