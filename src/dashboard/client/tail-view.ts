import { tailUrl } from './api.js';
import type { Stats, StoredEvent } from './api-types.js';
import { h, setText } from './dom.js';
import { eventDetail, payloadPreview } from './event-detail.js';
import { formatCount } from './format.js';
import { TailStream, type ConnectTail, type TailState } from './tail-stream.js';

/** Rows kept on screen; older ones scroll away (the count still counts them). */
const kMaxRows = 200;
// The service's topic rule (docs/API.md): a bad topic would be refused before the upgrade, which a browser only sees as a failed connection.
export const topicPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The browser's WebSocket behind the stream's small socket interface. */
export const connectWebSocket: ConnectTail = (url, handlers) => {
  const socket = new WebSocket(url);
  socket.onopen = () => handlers.onOpen();
  socket.onmessage = (message) => handlers.onMessage(String(message.data));
  socket.onclose = (close) => handlers.onClose(close.code, close.reason);
  return socket;
};

/** Tail: follow a topic live over /tail, with pause/resume that loses nothing. */
export class TailView {
  readonly element: HTMLElement;
  readonly #topicList = h('datalist', { attrs: { id: 'tail-topics' } });
  readonly #topic = h('input', { class: 'input', attrs: { list: 'tail-topics', placeholder: 'topic (empty: all topics)', 'aria-label': 'Topic to tail', 'data-tail': 'topic', autocomplete: 'off' } });
  readonly #start = h('button', { class: 'button primary', attrs: { type: 'button', 'data-tail': 'start' }, on: { click: () => this.#toggleStart() } }, 'Start');
  #nowCursor: string | null = null;
  readonly #pause = h('button', { class: 'button', attrs: { type: 'button', 'data-tail': 'pause', disabled: true }, on: { click: () => this.#togglePause() } }, 'Pause');
  readonly #clear = h('button', { class: 'button subtle', attrs: { type: 'button', 'data-tail': 'clear' }, on: { click: () => this.#clearRows() } }, 'Clear');
  readonly #state = h('span', { class: 'pill', attrs: { 'data-tail': 'state', 'data-state': 'idle' } }, 'idle');
  readonly #detail = h('span', { class: 'muted', attrs: { 'data-tail': 'detail' } }, 'Pick a topic and press Start: events published from then on appear here.');
  readonly #count = h('span', { attrs: { 'data-tail': 'count' } }, '0');
  readonly #cursor = h('code', { attrs: { 'data-tail': 'cursor' } }, '–');
  readonly #rows = h('tbody');
  readonly #event = h('div', null, h('p', { class: 'muted' }, 'Click an event to see its payload.'));
  #stream: TailStream | null = null;
  #received = 0;

  constructor() {
    this.element = h(
      'section',
      { class: 'view', attrs: { 'data-view': 'tail' } },
      h(
        'div',
        { class: 'tail' },
        h(
          'div',
          { class: 'card' },
          h('div', { class: 'card-head' }, h('h2', null, 'Tail'), this.#state),
          h('div', { class: 'toolbar' }, this.#topic, this.#topicList, this.#start, this.#pause, h('span', { class: 'spacer' }), this.#clear),
          h('p', { class: 'status-line' }, this.#detail),
          h('p', { class: 'status-line muted' }, this.#count, ' events received · cursor ', this.#cursor),
          h('div', { class: 'table-scroll tail-rows' }, h('table', { class: 'events' }, h('thead', null, h('tr', null, h('th', { class: 'num' }, 'Seq'), h('th', null, 'Topic'), h('th', null, 'Event id'), h('th', null, 'Timestamp'), h('th', null, 'Payload'))), this.#rows)),
        ),
        h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', null, 'Event')), this.#event),
      ),
    );
  }

  /** Offers the known topics in the topic field. */
  update(stats: Stats): void {
    this.#nowCursor = stats.cursor;
    if (this.#topicList.options.length === stats.topics.length) return;
    this.#topicList.replaceChildren(...stats.topics.map((topic) => h('option', { attrs: { value: topic } })));
  }

  #toggleStart(): void {
    if (this.#stream && this.#stream.state !== 'idle') {
      this.#stream.stop();
      this.#stream = null;
      this.#topic.disabled = false;
      setText(this.#start, 'Start');
      return;
    }
    const topic = this.#topic.value.trim();
    if (topic !== '' && !topicPattern.test(topic)) {
      this.#showState('idle', 'A topic is 1–128 characters of letters, digits, ".", "_" and "-", starting with a letter or digit.');
      return;
    }
    this.#stream = new TailStream({
      topic: topic || null,
      // Read at every (re)connect, so a token pasted after a refusal is used by the next attempt.
      url: tailUrl,
      connect: connectWebSocket,
      onEvents: (events) => this.#add(events),
      onState: (state, detail) => this.#showState(state, detail),
      // At most one poll old: the stream may start a second early, never late.
      startCursor: this.#nowCursor,
    });
    this.#topic.disabled = true;
    setText(this.#start, 'Stop');
    this.#stream.start();
  }

  #togglePause(): void {
    const stream = this.#stream;
    if (!stream) return;
    if (stream.state === 'paused') stream.resume();
    else stream.pause();
  }

  #showState(state: TailState, detail: string): void {
    setText(this.#state, state);
    this.#state.dataset.state = state;
    setText(this.#detail, detail);
    this.#pause.disabled = state === 'idle';
    setText(this.#pause, state === 'paused' ? 'Resume' : 'Pause');
  }

  #add(events: readonly StoredEvent[]): void {
    if (events.length === 0) return;
    this.#received += events.length;
    setText(this.#count, formatCount(this.#received));
    setText(this.#cursor, this.#stream?.cursor ?? '–');
    // Newest first: the last event of the message ends up on top.
    const fresh = events.slice(-kMaxRows).reverse().map((event) => this.#row(event));
    this.#rows.prepend(...fresh);
    while (this.#rows.rows.length > kMaxRows) this.#rows.lastElementChild!.remove();
  }

  #row(event: StoredEvent): HTMLTableRowElement {
    const row = h(
      'tr',
      { class: 'clickable fresh', attrs: { 'data-event-id': event.event_id }, on: { click: () => this.#select(event, row) } },
      h('td', { class: 'num' }, event.seq),
      h('td', { class: 'topic' }, event.topic),
      h('td', { class: 'mono' }, event.event_id),
      h('td', null, event.timestamp),
      h('td', { class: 'mono muted preview' }, payloadPreview(event)),
    );
    return row;
  }

  #select(event: StoredEvent, row: HTMLTableRowElement): void {
    for (const other of this.#rows.querySelectorAll('tr.selected')) other.classList.remove('selected');
    row.classList.add('selected');
    this.#event.replaceChildren(eventDetail(event));
  }

  #clearRows(): void {
    this.#rows.replaceChildren();
    this.#received = 0;
    setText(this.#count, '0');
  }
}
