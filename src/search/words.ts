/**
 * The one tokenizer of search. The query parser, the brute-force matcher and any index built later
 * must all cut text into words with these rules, or an index would disagree with a scan:
 * a word is a maximal run of Unicode letters, digits and combining marks, lower-cased, then
 * decomposed (NFD) with its marks dropped, so `Café`, `CAFÉ` and `cafe` are the same word.
 * No imports and nothing of Node: the dashboard's bundle marks matched words with these rules too.
 */

/** A run of word characters (global: for matchAll, which copies it). */
export const wordRun = /[\p{L}\p{N}\p{M}]+/gu;
const mark = /\p{M}/gu;

/** One run of word characters as the word it indexes under; '' when the run was marks only. */
export function normaliseWord(word: string): string {
  return word.toLowerCase().normalize('NFD').replace(mark, '');
}

/** ASCII text has no marks and NFD leaves it alone: its words are its runs of [a-z0-9] once lower-cased (the indexer's hot path). */
export const nonAscii = /[^\x00-\x7f]/;
const asciiWord = /[a-z0-9]+/g;

/** The words of a text, in order, normalised; a run that normalises to '' is no word. */
export function wordsOf(text: string): string[] {
  if (!nonAscii.test(text)) return text.toLowerCase().match(asciiWord) ?? [];
  return unicodeWordsOf(text);
}

/** `wordsOf` by the general rule, for any text (exported for the test that holds the ASCII path to it). */
export function unicodeWordsOf(text: string): string[] {
  const words: string[] = [];
  for (const run of text.matchAll(wordRun)) {
    const word = normaliseWord(run[0]);
    if (word !== '') words.push(word);
  }
  return words;
}

/** The word a text ends with (normalised), or '' when its last character is no word character. */
export function trailingWord(text: string): string {
  let last = '';
  for (const run of text.matchAll(wordRun)) last = run.index + run[0].length === text.length ? run[0] : '';
  return normaliseWord(last);
}
