import type { StoredEvent } from './api-types.js';
import { h } from './dom.js';
import { eventDetail } from './event-detail.js';
import { highlighted, markWithin, noTerms, snippet, type QueryTerms } from './search-terms.js';

/** Rows kept on the page; past it, live arrivals push the oldest out (and load more stops, see `trimmed`). */
const kMaxRows = 1000;

/**
 * The list of matches, newest first: pages of GET /search appended at the bottom, live arrivals
 * prepended at the top. Each seq is shown once, however it came (a live stream that starts a
 * little before the first page's snapshot delivers some of that page again). A click on a row
 * opens the event's JSON in a row below it, with the query's words marked there too.
 */
export class SearchResults {
  readonly element: HTMLElement;
  readonly #rows = h('tbody', { attrs: { 'data-search-view': 'results' } });
  readonly #shown = new Set<number>();
  #terms: QueryTerms = noTerms;
  /** Rows were dropped from the bottom: the page cursor no longer continues where the list ends. */
  #trimmed = false;

  constructor() {
    this.element = h(
      'div',
      { class: 'table-scroll search-rows' },
      h('table', { class: 'events search-results' }, h('thead', null, h('tr', null, h('th', null, 'Timestamp'), h('th', null, 'Topic'), h('th', null, 'Source'), h('th', null, 'Event'))), this.#rows),
    );
  }

  get count(): number {
    return this.#shown.size;
  }

  get trimmed(): boolean {
    return this.#trimmed;
  }

  /** Empties the list for a new query, whose words are marked from now on. */
  reset(terms: QueryTerms): void {
    this.#terms = terms;
    this.#shown.clear();
    this.#trimmed = false;
    this.#rows.replaceChildren();
  }

  /** Older matches (the next page), below the ones shown. Returns how many were new. */
  append(events: readonly StoredEvent[]): number {
    const fresh = events.filter((event) => this.#claim(event)).map((event) => this.#row(event, false));
    this.#rows.append(...fresh);
    return fresh.length;
  }

  /** Newer matches (a live message, oldest first), above the ones shown. Returns how many were new. */
  prepend(events: readonly StoredEvent[]): number {
    const fresh = events.filter((event) => this.#claim(event)).map((event) => this.#row(event, true));
    this.#rows.prepend(...fresh.reverse());
    while (this.#shown.size > kMaxRows && this.#rows.lastElementChild) this.#dropLast();
    return fresh.length;
  }

  #claim(event: StoredEvent): boolean {
    if (this.#shown.has(event.seq)) return false;
    this.#shown.add(event.seq);
    return true;
  }

  #dropLast(): void {
    const last = this.#rows.lastElementChild;
    if (!(last instanceof HTMLTableRowElement)) return;
    if (last.classList.contains('search-detail')) {
      last.remove();
      return;
    }
    this.#shown.delete(Number(last.dataset.seq));
    last.remove();
    this.#trimmed = true;
  }

  #row(event: StoredEvent, fresh: boolean): HTMLTableRowElement {
    const text = JSON.stringify(event.payload);
    const row = h(
      'tr',
      { class: `clickable${fresh ? ' fresh' : ''}`, attrs: { 'data-seq': event.seq, 'data-event-id': event.event_id }, on: { click: () => this.#toggle(event, row) } },
      h('td', { class: 'nowrap' }, event.timestamp),
      h('td', { class: 'topic' }, event.topic),
      h('td', null, highlighted(event.source, this.#terms)),
      h('td', { class: 'mono match' }, highlighted(snippet(text, this.#terms), this.#terms)),
    );
    return row;
  }

  /** Opens the event's JSON under its row, or closes it when it is open. */
  #toggle(event: StoredEvent, row: HTMLTableRowElement): void {
    const open = row.nextElementSibling;
    if (open instanceof HTMLTableRowElement && open.classList.contains('search-detail')) {
      open.remove();
      row.classList.remove('selected');
      return;
    }
    const detail = eventDetail(event);
    for (const pre of detail.querySelectorAll('pre.json')) markWithin(pre, this.#terms);
    row.classList.add('selected');
    row.after(h('tr', { class: 'search-detail', attrs: { 'data-detail': event.seq } }, h('td', { attrs: { colspan: 4 } }, detail)));
  }
}
