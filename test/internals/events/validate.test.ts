import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { findProblems } from '../../../src/events/validate.js';
import { hostileJsonText } from '../../helper.js';

const limits = { maxPayloadDepth: 64 };
const withPayload = (payload: unknown) => ({ topic: 't', event_id: 'e', timestamp: '2025-10-22T10:30:00Z', source: 's', payload });

describe('findProblems', () => {
  test('payloads msgpack cannot carry unchanged are valid, and reported as needing JSON text', () => {
    const events = [
      withPayload({ plain: 'x' }),
      withPayload(JSON.parse('{"__proto__":{"a":1}}')),
      withPayload({ lone: '\ud800' }),
      withPayload({ ['key\udfff']: 1 }),
      withPayload({ deep: [{ x: [JSON.parse('{"__proto__":null}')] }] }),
      withPayload({ pair: '😀', constructor: 1, ['__proto_']: 2 }),
    ];
    const text: number[] = [];
    assert.deepEqual(findProblems(events, limits, text), []);
    assert.deepEqual(text, [1, 2, 3, 4]);
  });

  test('invalid events are not reported as text payloads, and problems still win', () => {
    const text: number[] = [];
    const problems = findProblems([withPayload({ lone: '\ud800', n: Number.NaN }), { ...withPayload(JSON.parse('{"__proto__":1}')), topic: '' }], limits, text);
    assert.deepEqual(problems.map((problem) => [problem.index, problem.path]), [[0, '/payload/n'], [1, '/topic']]);
    assert.deepEqual(text, []);
  });

  test('property: any JSON object payload within the depth limit is valid, and flagged exactly when it holds __proto__ or a lone surrogate', () => {
    fc.assert(
      fc.property(hostileJsonText(), (text) => {
        const payload = JSON.parse(`{"p":${text}}`);
        const flagged: number[] = [];
        assert.deepEqual(findProblems([withPayload(payload)], limits, flagged), []);
        const serialised = JSON.stringify(payload);
        // In JSON text an unescaped "__proto__": can only be a key (quotes inside strings are escaped).
        const expected = /"__proto__":/.test(serialised) || hasLoneSurrogate(payload);
        assert.equal(flagged.length === 1, expected, serialised);
      }),
      { numRuns: 500 },
    );
  });
});

function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return !value.isWellFormed();
  if (Array.isArray(value)) return value.some(hasLoneSurrogate);
  if (value && typeof value === 'object') return Object.keys(value).some((key) => !key.isWellFormed() || hasLoneSurrogate((value as Record<string, unknown>)[key]));
  return false;
}
