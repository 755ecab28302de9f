/**
 * What the word index can answer of a query. The index (store/search-index.ts) holds, per event,
 * the words of `source` and of each text leaf of the payload (words.ts), each leaf's words apart
 * from the next by a token no text yields, under FTS5's `ascii` tokenizer, which keeps every
 * non-ASCII character inside its token: each of our words is exactly one FTS5 token and a phrase
 * cannot run across two leaves. So a word, a phrase or a prefix over all searchable text is
 * answered by the index exactly, and AND, OR and NOT of exact parts stay exact. Terms on one field
 * (`level:error`, `msg:"a b"`) are not: their words only narrow the candidates, and the matcher
 * (match.ts) decides. `null`: the index cannot narrow the query at all (a bare NOT, a comparison).
 */
import { textLeaves } from './match.js';
import type { QueryNode, SearchQuery } from './query.js';
import { nonAscii, wordsOf } from './words.js';

/** Between the words of two leaves: punctuation, never a word of ours, one token to FTS5's ascii tokenizer. */
export const kLeafBoundary = '\u2016';

export interface IndexPlan {
  /** An FTS5 MATCH expression: every event the query matches matches it. */
  readonly match: string;
  /** Whether the expression matches exactly the events the query does: counts need no look at the rows. */
  readonly exact: boolean;
}

/**
 * The text the index holds for one event. An ASCII leaf goes in as it is: the ascii tokenizer cuts
 * it into exactly our words (runs of [A-Za-z0-9], lower-cased), in C; any other leaf goes in as our
 * words, space-separated.
 */
export function indexText(source: string, payload: unknown): string {
  let text = '';
  for (const leaf of [source, ...textLeaves([payload])]) {
    if (text !== '') text += ` ${kLeafBoundary} `;
    text += nonAscii.test(leaf) ? wordsOf(leaf).join(' ') : leaf;
  }
  return text;
}

export function planIndex(query: SearchQuery): IndexPlan | null {
  return query === null ? null : plan(query);
}

function plan(node: QueryNode): IndexPlan | null {
  switch (node.kind) {
    case 'words': {
      // Topic and event_id are not in the indexed text.
      if (node.field?.kind === 'envelope' && node.field.name !== 'source') return null;
      return { match: phrase(node.words, node.prefix), exact: node.field === null };
    }
    case 'equals': {
      const { field, value, number } = node;
      if (field.kind === 'envelope' && field.name !== 'source') return null;
      // An equal string leaf holds the value's words in order; an equal number leaf, its number's text.
      const texts = new Set([value]);
      if (number !== null) texts.add(String(number));
      const phrases = [...texts].map((text) => wordsOf(text));
      // A boolean leaf (`true`) is no text; a value without words narrows nothing.
      if (value === 'true' || value === 'false' || phrases.some((words) => words.length === 0)) return null;
      return { match: phrases.map((words) => phrase(words, false)).join(' OR '), exact: false };
    }
    case 'compare':
    case 'not':
      return null;
    case 'or': {
      const parts = node.children.map(plan);
      if (parts.some((part) => part === null)) return null;
      return { match: parts.map((part) => `(${part!.match})`).join(' OR '), exact: parts.every((part) => part!.exact) };
    }
    case 'and': {
      let match: string | null = null;
      let exact = true;
      const excluded: IndexPlan[] = [];
      for (const child of node.children) {
        // FTS5's NOT is binary: an exact negation narrows what the positive terms found; an inexact one is left to the matcher.
        const part = child.kind === 'not' ? null : plan(child);
        if (child.kind === 'not') {
          const negated = plan(child.child);
          if (negated?.exact) excluded.push(negated);
          else exact = false;
        } else if (part === null) {
          exact = false;
        } else {
          match = match === null ? `(${part.match})` : `${match} AND (${part.match})`;
          exact &&= part.exact;
        }
      }
      if (match === null) return null;
      for (const negated of excluded) match = `(${match}) NOT (${negated.match})`;
      return { match, exact };
    }
  }
}

/** Our words are letters and digits only: inside FTS5 quotes they need no escaping. */
function phrase(words: readonly string[], prefix: boolean): string {
  return `"${words.join(' ')}"${prefix ? ' *' : ''}`;
}
