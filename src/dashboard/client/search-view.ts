import { ApiError, getJson, searchPath } from './api.js';
import type { SearchHistogram, SearchPage, Stats, StoredEvent } from './api-types.js';
import { h, setText } from './dom.js';
import { formatCount } from './format.js';
import { SearchHistogramChart } from './search-histogram.js';
import { followSearch } from './search-live.js';
import { SearchResults } from './search-results.js';
import { queryTerms, type QueryTerms } from './search-terms.js';
import type { TailState, TailStream } from './tail-stream.js';

/** The time ranges offered; each preset is an age the service resolves (`since=-15m`), so it slides with a live query. */
const kRanges = [
  { id: '15m', label: 'Last 15 minutes' },
  { id: '1h', label: 'Last hour' },
  { id: '24h', label: 'Last 24 hours' },
  { id: '7d', label: 'Last 7 days' },
  { id: 'custom', label: 'Custom range' },
] as const;
const kPageSizes = [10, 25, 50, 100] as const;
/** Live arrivals recount the histogram at most this often, rather than once per message. */
const kRecountMs = 1000;

/** One submitted search: what every page, count and live message of it is asked with. */
interface Search {
  readonly q: string;
  readonly topic: string | null;
  readonly since: string | null;
  readonly until: string | null;
  readonly limit: number;
  readonly terms: QueryTerms;
  /** /stats' cursor as last polled before the search was sent: a live stream from there misses nothing the page did not show. */
  readonly startCursor: string | null;
}

const filters = (search: Search): Record<string, string> => {
  const entries = { q: search.q, topic: search.topic, since: search.since, until: search.until };
  return Object.fromEntries(Object.entries(entries).filter((entry): entry is [string, string] => entry[1] !== null && entry[1] !== ''));
};

/**
 * Search: a query over every topic (or a topic glob) in a time range, as in Kibana's Discover: a
 * histogram of the matches whose bars zoom the range, the newest matches first with the query's
 * words marked, more by the page cursor, and Live, which follows the query over /tail?q=.
 */
export class SearchView {
  readonly element: HTMLElement;
  readonly #q = h('input', { class: 'input query', attrs: { type: 'search', placeholder: 'words, "a phrase", pre*, -word, a OR b, level:error, status:>=500', 'aria-label': 'Query', 'data-search-view': 'q', autocomplete: 'off' } });
  readonly #topicList = h('datalist', { attrs: { id: 'search-topics' } });
  readonly #topic = h('input', { class: 'input', attrs: { type: 'search', list: 'search-topics', placeholder: 'topic or glob: auth.*', 'aria-label': 'Topic or glob', 'data-search-view': 'topic', autocomplete: 'off' } });
  readonly #range = h(
    'select',
    { class: 'input', attrs: { 'aria-label': 'Time range', 'data-search-view': 'range' }, on: { change: () => this.#rangeChanged() } },
    ...kRanges.map((range) => h('option', { attrs: { value: range.id, selected: range.id === '1h' } }, range.label)),
  );
  readonly #since = h('input', { class: 'input', attrs: { type: 'text', placeholder: 'since: 2025-10-22T10:00:00Z or -2h', 'aria-label': 'Since', 'data-search-view': 'since', hidden: true } });
  readonly #until = h('input', { class: 'input', attrs: { type: 'text', placeholder: 'until (empty: now)', 'aria-label': 'Until', 'data-search-view': 'until', hidden: true } });
  readonly #pageSize = h(
    'select',
    { class: 'input', attrs: { 'aria-label': 'Matches per page', 'data-search-view': 'page-size' }, on: { change: () => this.#rerun() } },
    ...kPageSizes.map((size) => h('option', { attrs: { value: size, selected: size === 50 } }, `${size} per page`)),
  );
  readonly #live = h('input', { attrs: { type: 'checkbox', 'data-search-view': 'live' }, on: { change: () => this.#liveChanged() } });
  readonly #liveState = h('span', { class: 'pill', attrs: { 'data-search-view': 'live-state', 'data-state': 'idle' } }, 'idle');
  readonly #error = h('p', { class: 'error empty', attrs: { role: 'alert', 'data-search-view': 'error' } });
  readonly #summary = h('span', { class: 'muted', attrs: { 'data-search-view': 'summary' } });
  readonly #shown = h('span', { class: 'muted', attrs: { 'data-search-view': 'shown' } });
  readonly #message = h('p', { class: 'muted empty', attrs: { 'data-search-view': 'message' } }, 'Type words to find and press Search; an empty query lists every event.');
  readonly #more = h('button', { class: 'button', attrs: { type: 'button', 'data-search-view': 'more', hidden: true }, on: { click: () => void this.#loadMore() } }, 'Load more');
  readonly #histogram = new SearchHistogramChart((since, until) => this.#zoom(since, until));
  readonly #results = new SearchResults();
  #current: Search | null = null;
  #next: string | null = null;
  /** The last page stopped at the service's work bound (its `next` goes on searching). */
  #partial = false;
  #request = 0;
  #nowCursor: string | null = null;
  #stream: TailStream | null = null;
  #recount: ReturnType<typeof setTimeout> | null = null;

  constructor() {
    const form = h(
      'form',
      { class: 'toolbar search-form', attrs: { 'data-search-view': 'form' }, on: { submit: (event: Event) => { event.preventDefault(); void this.#run(); } } },
      this.#q,
      this.#topic,
      this.#topicList,
      this.#range,
      this.#since,
      this.#until,
      h('button', { class: 'button primary', attrs: { type: 'submit', 'data-search-view': 'submit' } }, 'Search'),
      h('label', { class: 'live-toggle' }, this.#live, 'Live'),
      this.#liveState,
    );
    this.element = h(
      'section',
      { class: 'view', attrs: { 'data-view': 'search' } },
      h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', null, 'Search'), this.#summary), form, this.#error, this.#histogram.element),
      h(
        'div',
        { class: 'card' },
        h('div', { class: 'card-head' }, h('h2', null, 'Matches'), h('span', { class: 'muted' }, 'newest first · click one for its JSON')),
        this.#results.element,
        this.#message,
        h('div', { class: 'toolbar more' }, this.#more, this.#shown, h('span', { class: 'spacer' }), this.#pageSize),
      ),
    );
  }

  /** Keeps "from now" for Live, and offers the known topics in the topic field. */
  update(stats: Stats): void {
    this.#nowCursor = stats.cursor;
    if (this.#topicList.options.length === stats.topics.length) return;
    this.#topicList.replaceChildren(...stats.topics.map((topic) => h('option', { attrs: { value: topic } })));
  }

  /** The view was opened: the first time, it lists the newest events of the last hour, as Discover does. */
  activate(): void {
    if (this.#current === null) void this.#run();
  }

  #read(): Search {
    const range = this.#range.value;
    const custom = range === 'custom';
    const topic = this.#topic.value.trim();
    return {
      q: this.#q.value.trim(),
      topic: topic === '' ? null : topic,
      since: custom ? this.#since.value.trim() || null : `-${range}`,
      until: custom ? this.#until.value.trim() || null : null,
      limit: Number(this.#pageSize.value),
      terms: queryTerms(this.#q.value),
      startCursor: this.#nowCursor,
    };
  }

  /** A new search: the first page and the histogram together; Live, if on, follows it once it is known to be valid. */
  async #run(): Promise<void> {
    const search = this.#read();
    const request = ++this.#request;
    this.#stopLive();
    this.#current = search;
    this.#next = null;
    this.#partial = false;
    this.#results.reset(search.terms);
    this.#q.removeAttribute('aria-invalid');
    setText(this.#error, '');
    this.#showMore();
    setText(this.#message, 'Searching…');
    const [page, histogram] = await Promise.allSettled([
      getJson<SearchPage>(searchPath('', { ...filters(search), limit: String(search.limit) })),
      getJson<SearchHistogram>(searchPath('/histogram', filters(search))),
    ]);
    if (request !== this.#request) return; // a later search won
    if (page.status === 'rejected') return this.#fail(page.reason);
    this.#showPage(page.value);
    this.#showHistogram(histogram);
    if (this.#live.checked) this.#startLive(search);
  }

  #rerun(): void {
    if (this.#current !== null) void this.#run();
  }

  async #loadMore(): Promise<void> {
    const search = this.#current;
    if (search === null || this.#next === null) return;
    this.#more.disabled = true;
    try {
      const page = await getJson<SearchPage>(searchPath('', { ...filters(search), limit: String(search.limit), after: this.#next }));
      if (search !== this.#current) return;
      this.#showPage(page);
    } catch (error) {
      if (search !== this.#current) return;
      setText(this.#error, `Could not load more: ${error instanceof Error ? error.message : String(error)}`);
      this.#showMore();
    }
  }

  #showPage(page: SearchPage): void {
    this.#next = page.next;
    this.#partial = page.partial;
    this.#results.append(page.events);
    this.#showMore();
  }

  /** The list's footer: Load more while the cursor goes on, how many are shown, and why the list ends where it does. */
  #showMore(): void {
    const more = this.#next !== null;
    const empty = this.#results.count === 0;
    let message = '';
    if (this.#results.trimmed) message = 'Older matches were dropped from the page to make room for live ones: search again to page through them.';
    else if (this.#partial && more) message = empty ? 'No match in the events searched so far: Load more searches on.' : 'The search stopped at its bound: Load more searches on.';
    else if (empty) message = 'No event matches.';
    else if (!more) message = 'No more matches.';
    setText(this.#message, message);
    this.#more.hidden = !more || this.#results.trimmed;
    this.#more.disabled = false;
    setText(this.#shown, `showing ${formatCount(this.#results.count)}`);
  }

  #showHistogram(result: PromiseSettledResult<SearchHistogram>): void {
    if (result.status === 'rejected') {
      setText(this.#summary, '');
      this.#histogram.clear(`Could not count the matches: ${result.reason instanceof Error ? result.reason.message : String(result.reason)}`);
      return;
    }
    const { total, partial } = result.value;
    setText(this.#summary, `${formatCount(total)} match${total === 1 ? '' : 'es'}${partial ? ' counted so far' : ''}`);
    this.#histogram.show(result.value);
  }

  /** A refused search: the service's own message (invalid_query names the position, where the caret goes). */
  #fail(error: unknown): void {
    this.#histogram.clear();
    setText(this.#summary, '');
    setText(this.#message, '');
    setText(this.#shown, '');
    if (!(error instanceof ApiError)) return setText(this.#error, String(error));
    setText(this.#error, error.code === 'invalid_query' ? `Invalid query: ${error.message}` : `Could not search: ${error.message}`);
    const position = /^q: .* at position (\d+)$/.exec(error.message);
    if (position) {
      this.#q.setAttribute('aria-invalid', 'true');
      // The position counts characters (code points) from 1; the input counts UTF-16 units.
      const at = [...this.#q.value.trim()].slice(0, Number(position[1]) - 1).join('').length + (this.#q.value.length - this.#q.value.trimStart().length);
      this.#q.focus();
      this.#q.setSelectionRange(at, at + 1);
    }
  }

  #rangeChanged(): void {
    const custom = this.#range.value === 'custom';
    this.#since.hidden = !custom;
    this.#until.hidden = !custom;
    // A custom range waits for its dates and a press of Search; a preset applies at once.
    if (!custom) this.#rerun();
  }

  /** A bar was clicked: its time range becomes the search's. */
  #zoom(since: string, until: string): void {
    this.#range.value = 'custom';
    this.#since.value = since;
    this.#until.value = until;
    this.#since.hidden = false;
    this.#until.hidden = false;
    void this.#run();
  }

  #liveChanged(): void {
    if (this.#live.checked) void this.#run(); // from a fresh first page, so Live starts where it ends
    else this.#stopLive();
  }

  #startLive(search: Search): void {
    this.#stream = followSearch(
      { topic: search.topic, filters: filters({ ...search, topic: null }), startCursor: search.startCursor },
      (events) => this.#arrive(search, events),
      (state, detail) => this.#showLive(state, detail),
    );
  }

  #stopLive(): void {
    this.#stream?.stop();
    this.#stream = null;
    if (this.#recount !== null) clearTimeout(this.#recount);
    this.#recount = null;
    this.#showLive('idle', this.#live.checked ? 'Live starts with the next valid search' : 'Live is off');
  }

  #showLive(state: TailState, detail: string): void {
    setText(this.#liveState, state);
    this.#liveState.dataset.state = state;
    this.#liveState.title = detail;
  }

  #arrive(search: Search, events: readonly StoredEvent[]): void {
    if (search !== this.#current) return;
    const added = this.#results.prepend(events);
    if (added === 0) return;
    this.#showMore();
    this.#recount ??= setTimeout(() => void this.#recountNow(search), kRecountMs);
  }

  async #recountNow(search: Search): Promise<void> {
    this.#recount = null;
    try {
      const histogram = await getJson<SearchHistogram>(searchPath('/histogram', filters(search)));
      if (search === this.#current) this.#showHistogram({ status: 'fulfilled', value: histogram });
    } catch {
      // The next arrival tries again; the bars shown are the last good count.
    }
  }
}
