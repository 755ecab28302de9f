/**
 * Topic globs (`auth.*`, `*.prod`), one rule for the server and the dashboard's browser bundle
 * (no imports, nothing of Node).
 */

/**
 * A topic name or a glob of one: the topic rule (src/events/schema.ts) with `*` allowed anywhere,
 * 1 to 128 characters. Search's `topic`, a consumer group's `topics` and the consumer CLI's
 * `--topics` all take it.
 */
export const topicGlobPattern = '^[A-Za-z0-9*][A-Za-z0-9._*-]{0,127}$';
const topicGlob = new RegExp(topicGlobPattern);

export function isTopicGlob(text: string): boolean {
  return topicGlob.test(text);
}

/** `*` matches any run of characters, including none. Backtracks only to the last `*` (at most pattern × text steps), no regex: a pattern cannot blow up. */
export function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
