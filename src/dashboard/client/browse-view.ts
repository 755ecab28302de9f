import { ApiError, eventsPath, getJson } from './api.js';
import type { EventsPage, Stats, StoredEvent, TopicsPage } from './api-types.js';
import { h, setText, syncRows } from './dom.js';
import { eventDetail } from './event-detail.js';
import { formatCount } from './format.js';

const searchInput = (name: string, placeholder: string): HTMLInputElement =>
  h('input', { class: 'input', attrs: { type: 'search', placeholder, 'aria-label': placeholder, 'data-search': name } });

const hint = () => h('p', { class: 'muted' }, 'Click an event to see its payload.');
const kPageSizes = [25, 50, 100, 250] as const;
const kAllTopics = '';

interface TopicRow {
  readonly topic: string;
  readonly received: number;
}

/**
 * Browse: the topic list, a topic's events page by page, and one event's payload. Paging follows
 * the API's cursors: page k is read with `after` = the `next` of page k-1, so the stack of those
 * cursors is all it takes to go back.
 */
export class BrowseView {
  readonly element: HTMLElement;
  readonly #topicFilter = h('input', { class: 'input', attrs: { type: 'search', placeholder: 'Search topics', 'aria-label': 'Search topics', 'data-browse': 'topic-search' }, on: { input: () => void this.#searchTopics() } });
  readonly #topicNote = h('p', { class: 'muted', attrs: { 'data-browse': 'topic-note' } });
  /** Topics whose name starts with the search text, from GET /topics; null: no search, the /stats list. */
  #found: readonly TopicRow[] | null = null;
  #topicSearch = 0;
  readonly #topicRows = h('tbody');
  readonly #title = h('h2', { attrs: { 'data-browse': 'title' } }, 'Events');
  readonly #range = h('span', { class: 'muted', attrs: { 'data-browse': 'range' } });
  readonly #previous = h('button', { class: 'button', attrs: { type: 'button', 'data-browse': 'previous', disabled: true }, on: { click: () => this.#go(-1) } }, '← Previous');
  readonly #next = h('button', { class: 'button', attrs: { type: 'button', 'data-browse': 'next', disabled: true }, on: { click: () => this.#go(1) } }, 'Next →');
  readonly #refresh = h('button', { class: 'button subtle', attrs: { type: 'button', 'data-browse': 'refresh', disabled: true }, on: { click: () => void this.#load() } }, 'Refresh');
  readonly #pageSize = h(
    'select',
    { class: 'input', attrs: { 'aria-label': 'Events per page', 'data-browse': 'page-size' }, on: { change: () => this.#open(this.#topic) } },
    ...kPageSizes.map((size) => h('option', { attrs: { value: size, selected: size === 25 } }, `${size} per page`)),
  );
  readonly #search = {
    since: searchInput('since', 'Since: -1h or 2025-10-22T10:00:00Z'),
    until: searchInput('until', 'Until'),
    source: searchInput('source', 'Source'),
    fields: searchInput('fields', 'Payload: request_id=abc user.id=7'),
  };
  readonly #apply = h('button', { class: 'button', attrs: { type: 'submit', 'data-browse': 'apply' } }, 'Search');
  readonly #eventRows = h('tbody');
  readonly #message = h('p', { class: 'muted empty', attrs: { 'data-browse': 'message' } }, 'Pick a topic on the left.');
  readonly #detail = h('div', null, hint());
  #topics: readonly TopicRow[] = [];
  /** null: nothing picked yet; kAllTopics: every topic. */
  #topic: string | null = null;
  #cursors: (string | null)[] = [null];
  #page: EventsPage | null = null;
  #selected: number | null = null;
  #request = 0;

  constructor() {
    const eventsTable = h(
      'div',
      { class: 'table-scroll' },
      h('table', { class: 'events' }, h('thead', null, h('tr', null, h('th', { class: 'num' }, 'Seq'), h('th', null, 'Event id'), h('th', null, 'Timestamp'), h('th', null, 'Source'), h('th', null, 'Received at'))), this.#eventRows),
    );
    this.element = h(
      'section',
      { class: 'view', attrs: { 'data-view': 'browse' } },
      h(
        'div',
        { class: 'browse' },
        h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', null, 'Topics')), this.#topicFilter, this.#topicNote, h('div', { class: 'table-scroll topic-list' }, h('table', null, this.#topicRows))),
        h(
          'div',
          { class: 'card' },
          h('div', { class: 'card-head' }, this.#title, this.#range),
          h(
            'form',
            { class: 'toolbar search', attrs: { 'data-browse': 'search' }, on: { submit: (event: Event) => { event.preventDefault(); this.#open(this.#topic ?? kAllTopics); } } },
            ...Object.values(this.#search),
            this.#apply,
          ),
          h('div', { class: 'toolbar' }, this.#previous, this.#next, this.#refresh, h('span', { class: 'spacer' }), this.#pageSize),
          eventsTable,
          this.#message,
        ),
        h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', null, 'Event')), this.#detail),
      ),
    );
  }

  /** Shows a topic's first page. */
  open(topic: string): void {
    this.#open(topic);
  }

  update(stats: Stats): void {
    this.#topics = [{ topic: kAllTopics, received: stats.received }, ...stats.topics.map((topic) => ({ topic, received: stats.topic_counts[topic]?.received ?? 0 }))];
    setText(this.#topicNote, stats.topics_truncated ? `The ${formatCount(stats.topics.length)} largest of ${formatCount(stats.topic_count ?? 0)} topics; search to find any.` : '');
    this.#showTopics();
  }

  /** A search asks the server (GET /topics?prefix=): /stats lists only the largest topics when there are many. */
  async #searchTopics(): Promise<void> {
    const prefix = this.#topicFilter.value.trim();
    const search = ++this.#topicSearch;
    if (prefix === '') {
      this.#found = null;
      this.#showTopics();
      return;
    }
    try {
      const page = await getJson<TopicsPage>(`/topics?${new URLSearchParams({ prefix, limit: '100' })}`);
      if (search !== this.#topicSearch) return;
      this.#found = page.topics.map((row) => ({ topic: row.topic, received: row.received }));
    } catch {
      if (search !== this.#topicSearch) return;
      this.#found = []; // not a topic prefix: nothing matches
    }
    this.#showTopics();
  }

  #showTopics(): void {
    const visible = this.#found ?? this.#topics;
    syncRows(
      this.#topicRows,
      visible,
      (row) => row.topic,
      (row) =>
        h(
          'tr',
          { class: 'clickable', attrs: { 'data-topic': row.topic }, on: { click: () => this.#open(row.topic) } },
          h('td', { class: row.topic === kAllTopics ? 'muted' : 'topic' }, row.topic === kAllTopics ? 'All topics' : row.topic),
          h('td', { class: 'num muted' }),
        ),
      (tr, row) => {
        setText(tr.cells[1]!, formatCount(row.received));
        tr.classList.toggle('selected', row.topic === this.#topic);
      },
    );
  }

  #open(topic: string | null): void {
    if (topic === null) return;
    this.#topic = topic;
    this.#cursors = [null];
    this.#selected = null;
    this.#detail.replaceChildren(hint());
    this.#showTopics();
    void this.#load();
  }

  #go(step: 1 | -1): void {
    if (step === 1 && this.#page?.next) this.#cursors.push(this.#page.next);
    if (step === -1 && this.#cursors.length > 1) this.#cursors.pop();
    void this.#load();
  }

  get #limit(): number {
    return Number(this.#pageSize.value);
  }

  async #load(): Promise<void> {
    if (this.#topic === null) return;
    const request = ++this.#request;
    const topic = this.#topic === kAllTopics ? null : this.#topic;
    setText(this.#title, topic ?? 'All topics');
    try {
      const page = await getJson<EventsPage>(eventsPath(topic, this.#limit, this.#cursors.at(-1) ?? null, this.#filters()));
      if (request !== this.#request) return; // a later click won
      this.#page = page;
      this.#showPage(page);
    } catch (error) {
      if (request !== this.#request) return;
      this.#page = null;
      this.#eventRows.replaceChildren();
      setText(this.#message, error instanceof ApiError ? `Could not load events: ${error.message}` : String(error));
      this.#updateButtons();
    }
  }

  #showPage(page: EventsPage): void {
    const pageIndex = this.#cursors.length - 1;
    const first = pageIndex * this.#limit + 1;
    setText(this.#range, page.count > 0 ? `events ${formatCount(first)}–${formatCount(first + page.count - 1)} · page ${pageIndex + 1}` : `page ${pageIndex + 1}`);
    const filtered = Object.keys(this.#filters()).length > 0;
    const empty = page.partial ? 'No match in the events scanned so far: Next scans on.' : pageIndex > 0 ? 'No more events yet: Refresh looks again.' : filtered ? 'No event matches.' : 'No events in this topic yet.';
    setText(this.#message, page.count > 0 ? (page.partial ? 'The scan stopped at its bound: Next scans on.' : '') : empty);
    this.#eventRows.replaceChildren(...page.events.map((event) => this.#eventRow(event)));
    this.#updateButtons();
  }

  #eventRow(event: StoredEvent): HTMLTableRowElement {
    const row = h(
      'tr',
      { class: `clickable${event.seq === this.#selected ? ' selected' : ''}`, attrs: { 'data-seq': event.seq }, on: { click: () => this.#select(event, row) } },
      h('td', { class: 'num' }, event.seq),
      h('td', { class: 'mono' }, event.event_id),
      h('td', null, event.timestamp),
      h('td', null, event.source),
      h('td', { class: 'muted' }, event.received_at),
    );
    return row;
  }

  #select(event: StoredEvent, row: HTMLTableRowElement): void {
    this.#selected = event.seq;
    for (const other of this.#eventRows.querySelectorAll('tr.selected')) other.classList.remove('selected');
    row.classList.add('selected');
    this.#detail.replaceChildren(eventDetail(event));
  }

  /** The search fields as /events parameters; `fields` is `path=value` pairs separated by spaces. */
  #filters(): Record<string, string> {
    const filters: Record<string, string> = {};
    for (const name of ['since', 'until', 'source'] as const) {
      const value = this.#search[name].value.trim();
      if (value !== '') filters[name] = value;
    }
    for (const pair of this.#search.fields.value.trim().split(/\s+/)) {
      const equals = pair.indexOf('=');
      if (equals > 0) filters[`payload.${pair.slice(0, equals)}`] = pair.slice(equals + 1);
    }
    return filters;
  }

  #updateButtons(): void {
    this.#previous.disabled = this.#cursors.length <= 1;
    // A short page is the end for now (unless a filtered scan stopped at its bound); Refresh looks for newer events.
    this.#next.disabled = !(this.#page && this.#page.next && (this.#page.count === this.#limit || this.#page.partial === true));
    this.#refresh.disabled = this.#topic === null;
  }
}
