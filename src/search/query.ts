/**
 * The `q` of search (spec/search.md, "Query grammar"), parsed once into a small AST that the
 * brute-force matcher (match.ts) evaluates and an index can plan from. Every error is a 400
 * `invalid_query` naming the 1-based character position; limits are checked before any work that
 * grows with the input, so hostile queries fail fast. `printQuery` gives a node's canonical text back.
 */
import { InvalidQueryError } from '../errors.js';
import { fieldNumber, fieldSegmentPattern } from '../events/query.js';
import { trailingWord, wordsOf } from './words.js';

export const kMaxQueryBytes = 1024;
export const kMaxQueryTerms = 16;
/** Parentheses and NOT/- each nest one level. */
export const kMaxQueryDepth = 8;
/** As `payload.<path>=` on /events. */
const kMaxPathSegments = 8;

export type EnvelopeField = 'source' | 'topic' | 'event_id';
export type FieldRef = { readonly kind: 'envelope'; readonly name: EnvelopeField } | { readonly kind: 'payload'; readonly path: readonly string[] };
export type Comparison = '>' | '>=' | '<' | '<=';

export type QueryNode =
  | { readonly kind: 'and' | 'or'; readonly children: readonly QueryNode[] } // at least 2
  | { readonly kind: 'not'; readonly child: QueryNode }
  /** A word (1 word), a phrase (adjacent, in order, in one field text); `prefix`: the last word is a prefix. `field` null: any searchable text. */
  | { readonly kind: 'words'; readonly field: FieldRef | null; readonly words: readonly string[]; readonly prefix: boolean }
  /** `field:value`: exact; a topic value with `*` is a glob; `number` is the value's number form (payload fields only), as on /events. */
  | { readonly kind: 'equals'; readonly field: FieldRef; readonly value: string; readonly number: number | null }
  | { readonly kind: 'compare'; readonly path: readonly string[]; readonly op: Comparison; readonly value: number };

/** null: the empty query, every event. */
export type SearchQuery = QueryNode | null;

type Token =
  | { readonly type: '(' | ')' | '-' | 'OR' | 'AND' | 'NOT' | 'end'; readonly at: number }
  | { readonly type: 'term'; readonly at: number; readonly text: string; readonly quoted: boolean }
  | { readonly type: 'field'; readonly at: number; readonly name: string; readonly valueAt: number; readonly value: string; readonly quoted: boolean };

const envelopeFields: ReadonlySet<string> = new Set<EnvelopeField>(['source', 'topic', 'event_id']);
const separator = /\s/u;

/** `at` is a UTF-16 index into q; the message says where in characters (code points), from 1. */
function fail(q: string, at: number, what: string): never {
  throw new InvalidQueryError(`q: ${what} at position ${[...q.slice(0, at)].length + 1}`);
}

export function parseSearchQuery(q: string): SearchQuery {
  if (Buffer.byteLength(q, 'utf8') > kMaxQueryBytes) {
    let bytes = 0;
    let at = 0;
    for (const character of q) {
      bytes += Buffer.byteLength(character, 'utf8');
      if (bytes > kMaxQueryBytes) break;
      at += character.length;
    }
    fail(q, at, `longer than ${kMaxQueryBytes} bytes (UTF-8)`);
  }
  const tokens = tokenize(q);
  return tokens.length === 1 ? null : new Parser(q, tokens).query();
}

function tokenize(q: string): Token[] {
  const tokens: Token[] = [];
  const quoted = (open: number): { text: string; end: number } => {
    const close = q.indexOf('"', open + 1);
    if (close < 0) fail(q, open, 'unterminated quote');
    return { text: q.slice(open + 1, close), end: close + 1 };
  };
  let at = 0;
  while (at < q.length) {
    const character = q[at]!;
    if (separator.test(character)) {
      at++;
    } else if (character === '(' || character === ')' || character === '-') {
      tokens.push({ type: character, at: at++ });
    } else if (character === '"') {
      const { text, end } = quoted(at);
      tokens.push({ type: 'term', at, text, quoted: true });
      at = end;
    } else {
      let end = at;
      while (end < q.length && !separator.test(q[end]!) && !'()"'.includes(q[end]!)) end++;
      const text = q.slice(at, end);
      const colon = text.indexOf(':');
      if (colon >= 0) {
        const valueAt = at + colon + 1;
        if (valueAt === end && q[end] === '"') {
          const value = quoted(end);
          tokens.push({ type: 'field', at, name: text.slice(0, colon), valueAt, value: value.text, quoted: true });
          end = value.end;
        } else {
          tokens.push({ type: 'field', at, name: text.slice(0, colon), valueAt, value: text.slice(colon + 1), quoted: false });
        }
      } else if (text === 'OR' || text === 'AND' || text === 'NOT') {
        tokens.push({ type: text, at });
      } else {
        tokens.push({ type: 'term', at, text, quoted: false });
      }
      at = end;
    }
  }
  tokens.push({ type: 'end', at: q.length });
  return tokens;
}

function startsTerm(token: Token): boolean {
  return token.type === '(' || token.type === '-' || token.type === 'NOT' || token.type === 'term' || token.type === 'field';
}

function describe(token: Token): string {
  if (token.type === 'end') return 'the end';
  if (token.type === 'term' || token.type === 'field') return 'a term';
  return token.type;
}

/** Recursive descent: OR of ANDs of unary terms. Depth is checked before each descent, so the stack stays shallow. */
class Parser {
  readonly #q: string;
  readonly #tokens: readonly Token[];
  #next = 0;
  #terms = 0;

  constructor(q: string, tokens: readonly Token[]) {
    this.#q = q;
    this.#tokens = tokens;
  }

  query(): QueryNode {
    const node = this.#or(0);
    const token = this.#peek();
    if (token.type !== 'end') fail(this.#q, token.at, 'unexpected ) with no ( to close');
    return node;
  }

  #peek(offset = 0): Token {
    return this.#tokens[Math.min(this.#next + offset, this.#tokens.length - 1)]!;
  }

  #deeper(depth: number, at: number): number {
    if (depth >= kMaxQueryDepth) fail(this.#q, at, `nested deeper than ${kMaxQueryDepth} (parentheses and NOT)`);
    return depth + 1;
  }

  #or(depth: number): QueryNode {
    const children = [this.#and(depth)];
    while (this.#peek().type === 'OR') {
      this.#next++;
      if (!startsTerm(this.#peek())) fail(this.#q, this.#peek().at, `expected a term after OR, found ${describe(this.#peek())}`);
      children.push(this.#and(depth));
    }
    return children.length === 1 ? children[0]! : { kind: 'or', children };
  }

  #and(depth: number): QueryNode {
    const children: QueryNode[] = [];
    for (let token = this.#peek(); ; token = this.#peek()) {
      if (token.type === 'AND') {
        if (children.length === 0) fail(this.#q, token.at, 'expected a term before AND');
        if (!startsTerm(this.#peek(1))) fail(this.#q, this.#peek(1).at, `expected a term after AND, found ${describe(this.#peek(1))}`);
        this.#next++;
      } else if (startsTerm(token)) {
        children.push(this.#unary(depth));
      } else {
        if (children.length === 0) fail(this.#q, token.at, `expected a term, found ${describe(token)}`);
        return children.length === 1 ? children[0]! : { kind: 'and', children };
      }
    }
  }

  #unary(depth: number): QueryNode {
    const token = this.#peek();
    if (token.type !== 'NOT' && token.type !== '-') return this.#primary(depth);
    this.#next++;
    const next = this.#peek();
    if (token.type === '-' && next.at !== token.at + 1) fail(this.#q, token.at + 1, 'expected a term right after -');
    if (!startsTerm(next)) fail(this.#q, next.at, `expected a term after ${token.type}, found ${describe(next)}`);
    return { kind: 'not', child: this.#unary(this.#deeper(depth, token.at)) };
  }

  #primary(depth: number): QueryNode {
    const token = this.#peek();
    this.#next++;
    if (token.type === '(') {
      const node = this.#or(this.#deeper(depth, token.at));
      if (this.#peek().type !== ')') fail(this.#q, token.at, 'unclosed (');
      this.#next++;
      return node;
    }
    if (token.type !== 'term' && token.type !== 'field') throw new Error(`unreachable: a ${token.type} token starts no term`);
    if (++this.#terms > kMaxQueryTerms) fail(this.#q, token.at, `more than ${kMaxQueryTerms} terms`);
    return token.type === 'term' ? wordsTerm(this.#q, token.text, token.at, token.quoted, null) : fieldTerm(this.#q, token);
  }
}

/** A bare or quoted term, or a field's quoted or `pre*` value: words that must occur adjacent, in order. */
function wordsTerm(q: string, text: string, at: number, quoted: boolean, field: FieldRef | null): QueryNode {
  const star = quoted ? -1 : text.indexOf('*');
  if (star >= 0 && star !== text.length - 1) fail(q, at + star, '* is allowed only at the end of a word');
  const body = star >= 0 ? text.slice(0, star) : text;
  const words = wordsOf(body);
  if (star >= 0 && [...trailingWord(body)].length < 2) fail(q, at + star, 'a prefix needs at least 2 letters or digits right before *');
  if (words.length === 0) fail(q, at, `${quoted ? `"${text}"` : text} has no letters or digits`);
  return { kind: 'words', field, words, prefix: star >= 0 };
}

function fieldTerm(q: string, token: Extract<Token, { type: 'field' }>): QueryNode {
  const { name, value, valueAt } = token;
  const field = fieldRef(q, name, token.at);
  if (token.quoted) return wordsTerm(q, value, valueAt, true, field);
  if (value === '') fail(q, valueAt, `expected a value after ${name}:${q[valueAt] === '(' ? ' (a field takes one value: write (f:a OR f:b))' : ''}`);
  const comparison = /^(?:>=|<=|>|<)/.exec(value)?.[0] as Comparison | undefined;
  if (comparison !== undefined) {
    if (field.kind === 'envelope') fail(q, valueAt, `${comparison} compares a payload field, not ${field.name}`);
    const number = fieldNumber(value.slice(comparison.length));
    if (number === null) fail(q, valueAt + comparison.length, `expected a number after ${name}:${comparison}`);
    return { kind: 'compare', path: field.path, op: comparison, value: number };
  }
  if (field.kind === 'envelope' && field.name === 'topic') return { kind: 'equals', field, value, number: null };
  if (value.includes('*')) return wordsTerm(q, value, valueAt, false, field);
  return { kind: 'equals', field, value, number: field.kind === 'payload' ? fieldNumber(value) : null };
}

/** `source`, `topic`, `event_id`, or a payload path with /events' segment rules, `payload.` optional. */
function fieldRef(q: string, name: string, at: number): FieldRef {
  if (name === '') fail(q, at, 'expected a field name before :');
  if (envelopeFields.has(name)) return { kind: 'envelope', name: name as EnvelopeField };
  const path = (name.startsWith('payload.') ? name.slice('payload.'.length) : name).split('.');
  if (path.length > kMaxPathSegments || !path.every((segment) => fieldSegmentPattern.test(segment))) {
    fail(q, at, `${name} is not a field (source, topic, event_id, or a payload path: up to ${kMaxPathSegments} names of letters, digits, _ and - joined by dots)`);
  }
  return { kind: 'payload', path };
}

/**
 * The canonical text of a query: parseSearchQuery(printQuery(node)) is node again, for any node
 * the parser can produce. Throws for one it cannot (a prefix of topic words: `topic:x*` is a glob).
 */
export function printQuery(query: SearchQuery): string {
  return query === null ? '' : print(query, 'top');
}

function print(node: QueryNode, context: 'top' | 'and' | 'or' | 'not'): string {
  switch (node.kind) {
    case 'and': {
      const text = node.children.map((child) => print(child, 'and')).join(' ');
      return context === 'top' || context === 'or' ? text : `(${text})`;
    }
    case 'or': {
      const text = node.children.map((child) => print(child, 'or')).join(' OR ');
      return context === 'top' ? text : `(${text})`;
    }
    case 'not':
      return `NOT ${print(node.child, 'not')}`;
    case 'words': {
      if (node.prefix && node.field?.kind === 'envelope' && node.field.name === 'topic') throw new Error('a prefix of topic words has no query text');
      const bare = node.prefix ? `${node.words.join('.')}*` : node.field === null && node.words.length === 1 ? node.words[0]! : null;
      return `${node.field === null ? '' : `${fieldName(node.field)}:`}${bare ?? `"${node.words.join(' ')}"`}`;
    }
    case 'equals':
      return `${fieldName(node.field)}:${node.value}`;
    case 'compare':
      return `${fieldName({ kind: 'payload', path: node.path })}:${node.op}${node.value}`;
  }
}

function fieldName(field: FieldRef): string {
  if (field.kind === 'envelope') return field.name;
  const first = field.path[0] ?? '';
  return envelopeFields.has(first) || (first === 'payload' && field.path.length > 1) ? `payload.${field.path.join('.')}` : field.path.join('.');
}
