/**
 * The words of a search query a reader should see marked in the matches. The server decides what
 * matches; this only finds the query's positive words (not the excluded ones, not field names, not
 * numeric comparisons) and marks them where they occur, cutting text into words with the rules of
 * src/search/words.ts (imported: the one tokenizer, Node-free), so `Café`, `CAFE` and `cafe` mark
 * each other as they match each other.
 */
import { normaliseWord, wordRun, wordsOf } from '../../search/words.js';
import { h } from './dom.js';

/** What to mark: whole words, and the prefixes of `pre*` terms. */
export interface QueryTerms {
  readonly words: ReadonlySet<string>;
  readonly prefixes: readonly string[];
}

export const noTerms: QueryTerms = { words: new Set(), prefixes: [] };

/**
 * The positive words of `q`, read with the parser's token rules (src/search/query.ts) but none of
 * its checks: a query the server refuses marks nothing anyway, as it lists nothing.
 */
export function queryTerms(q: string): QueryTerms {
  const words = new Set<string>();
  const prefixes: string[] = [];
  const add = (text: string, prefix: boolean) => {
    const found = wordsOf(prefix ? text.slice(0, -1) : text);
    const last = prefix ? found.pop() : undefined;
    for (const word of found) words.add(word);
    if (last !== undefined && last.length >= 2) prefixes.push(last);
  };
  // One entry per open parenthesis: whether that group is excluded (NOT (a OR b)) or inside one.
  const groups: boolean[] = [];
  let negateNext = false;
  const excluded = () => negateNext || groups.at(-1) === true;
  let at = 0;
  while (at < q.length) {
    const character = q[at]!;
    if (/\s/u.test(character)) {
      at++;
      continue;
    }
    if (character === '(') {
      groups.push(excluded());
      negateNext = false;
      at++;
      continue;
    }
    if (character === ')' || character === '-') {
      if (character === ')') groups.pop();
      else negateNext = true;
      at++;
      continue;
    }
    let end = at;
    let text: string;
    if (character === '"') {
      end = q.indexOf('"', at + 1);
      end = end < 0 ? q.length : end + 1;
      text = q.slice(at, end);
    } else {
      while (end < q.length && !/[\s()"]/u.test(q[end]!)) end++;
      text = q.slice(at, end);
      if (text.endsWith(':') && q[end] === '"') {
        // field:"a phrase": the value is the quoted part.
        const close = q.indexOf('"', end + 1);
        end = close < 0 ? q.length : close + 1;
        text = q.slice(at, end);
      }
    }
    at = end;
    if (text === 'NOT') {
      negateNext = true;
      continue;
    }
    if (text === 'OR' || text === 'AND') continue;
    if (!excluded()) addTerm(text, add);
    negateNext = false;
  }
  return { words, prefixes };
}

/** One term's words: a word, a "phrase", `pre*`, or a field's value (except a topic's, which names no text, and comparisons). */
function addTerm(text: string, add: (text: string, prefix: boolean) => void): void {
  if (text.startsWith('"')) return add(text, false);
  const colon = text.indexOf(':');
  if (colon < 0) return add(text, text.endsWith('*'));
  const name = text.slice(0, colon);
  const value = text.slice(colon + 1);
  if (name === 'topic' || /^[<>]/.test(value)) return;
  add(value, !value.startsWith('"') && value.endsWith('*'));
}

function isMarked(word: string, terms: QueryTerms): boolean {
  return terms.words.has(word) || terms.prefixes.some((prefix) => word.startsWith(prefix));
}

/** `text` with every word of `terms` in a <mark>; the rest as plain text. */
export function highlighted(text: string, terms: QueryTerms): DocumentFragment {
  const fragment = document.createDocumentFragment();
  let from = 0;
  if (terms.words.size > 0 || terms.prefixes.length > 0) {
    for (const run of text.matchAll(wordRun)) {
      if (!isMarked(normaliseWord(run[0]), terms)) continue;
      if (run.index > from) fragment.append(text.slice(from, run.index));
      fragment.append(h('mark', null, run[0]));
      from = run.index + run[0].length;
    }
  }
  if (from < text.length) fragment.append(text.slice(from));
  return fragment;
}

/** Replaces an element's text by the same text with its matches marked. */
export function markWithin(element: Element, terms: QueryTerms): void {
  element.replaceChildren(highlighted(element.textContent ?? '', terms));
}

/**
 * At most `maxLength` characters of `text` for a list row, starting a little before the first
 * marked word, so a match deep inside a long payload is still seen.
 */
export function snippet(text: string, terms: QueryTerms, maxLength = 240): string {
  if (text.length <= maxLength) return text;
  let first = 0;
  for (const run of text.matchAll(wordRun)) {
    if (isMarked(normaliseWord(run[0]), terms)) {
      first = run.index;
      break;
    }
  }
  let start = Math.max(0, Math.min(first - 40, text.length - maxLength));
  // Never start on the second half of a surrogate pair.
  if (start > 0 && /[\uDC00-\uDFFF]/.test(text[start]!)) start++;
  const end = Math.min(text.length, start + maxLength);
  return `${start > 0 ? '…' : ''}${text.slice(start, end)}${end < text.length ? '…' : ''}`;
}
