import { ApiError, getJson } from './api.js';
import type { GroupList, GroupView } from './api-types.js';
import { h, setText, syncRows } from './dom.js';
import { formatCount, formatRate } from './format.js';

/** Rows shown: the groups with the most pending messages; a service with thousands of groups must not flood the page. */
const kMaxRows = 50;
/** The ack rate averages over this many seconds: one poll's delta jumps with every batch a consumer acks. */
const kRateSeconds = 5;

interface AckSample {
  /** performance.now() when the answer arrived: /groups carries no server clock, and this one never jumps. */
  readonly at: number;
  readonly acked: number;
}

interface GroupRow {
  readonly group: GroupView;
  /** Acks per second, or null until two polls can be compared. */
  readonly ackRate: number | null;
}

/**
 * Consumer groups (GET /groups): what each one has pending, what it has yet to deliver, and how
 * fast it acks. Polled on the stats rhythm (the Live view calls `refresh` on each /stats answer),
 * and not at all while the Live view is hidden.
 */
export class GroupsCard {
  readonly element: HTMLElement;
  readonly #rows = h('tbody');
  readonly #note = h('span', { class: 'muted', attrs: { 'data-groups': 'note' } });
  readonly #message = h('p', { class: 'muted empty', attrs: { 'data-groups': 'message' } });
  /** Recent acked counts per group, the last kRateSeconds of them. */
  #samples = new Map<string, readonly AckSample[]>();
  #inFlight = false;

  constructor() {
    const headings = ['Group', 'Topics', 'Pending', 'Lag', 'Acked', 'Acks / s', 'Redelivered', 'Dead-lettered', 'Consumers'];
    this.element = h(
      'div',
      { class: 'card', attrs: { 'data-card': 'groups' } },
      h('div', { class: 'card-head' }, h('h2', null, 'Consumer groups'), this.#note),
      h('div', { class: 'table-scroll' }, h('table', null, h('thead', null, h('tr', null, ...headings.map((text, index) => h('th', { class: index >= 2 ? 'num' : '' }, text)))), this.#rows)),
      this.#message,
    );
  }

  /** Asks for /groups once, unless the card is out of sight or the previous request is still out. */
  async refresh(): Promise<void> {
    if (this.#inFlight || this.element.closest('[hidden]')) return;
    this.#inFlight = true;
    try {
      // Not a read-token route: /groups takes the consume token, so its refusal must not raise the
      // read-token banner, and its success says nothing about the read token. The card says it instead.
      const list = await getJson<GroupList>('/groups', { tokenRoute: false });
      this.#show(list.groups, performance.now());
    } catch (error) {
      this.#showError(error);
    } finally {
      this.#inFlight = false;
    }
  }

  #show(groups: readonly GroupView[], at: number): void {
    const rates = this.#ackRates(groups, at);
    const shown = [...groups]
      .sort((a, b) => b.state.pending - a.state.pending || b.state.lag - a.state.lag || a.name.localeCompare(b.name))
      .slice(0, kMaxRows)
      .map((group): GroupRow => ({ group, ackRate: rates.get(group.name) ?? null }));
    const count = `${formatCount(groups.length)} group${groups.length === 1 ? '' : 's'}`;
    setText(this.#note, groups.length > kMaxRows ? `the ${kMaxRows} with the most pending of ${count}` : groups.length > 0 ? count : '');
    this.#say(groups.length === 0 ? 'No consumer groups yet — PUT /groups/{name} creates one.' : '', false);
    syncRows(
      this.#rows,
      shown,
      (row) => row.group.name,
      (row) => h('tr', null, h('td', { class: 'topic' }, row.group.name), h('td', { class: 'preview' }), ...[0, 1, 2, 3, 4, 5, 6].map(() => h('td', { class: 'num' }))),
      (tr, { group, ackRate }) => {
        const [, topics, ...numbers] = Array.from(tr.cells);
        const topicList = group.topics.join(', ');
        setText(topics!, topicList);
        // The cell cuts a long list short: the whole of it on hover.
        if (topics!.title !== topicList) topics!.title = topicList;
        const { state } = group;
        const texts = [formatCount(state.pending), formatCount(state.lag), formatCount(state.acked), ackRate === null ? '–' : formatRate(ackRate), formatCount(state.redelivered), formatCount(state.dead_lettered), formatCount(state.consumers)];
        texts.forEach((text, index) => setText(numbers[index]!, text));
      },
    );
  }

  /**
   * Records this poll's acked counts and returns each group's rate over the window. Only groups in
   * this answer keep samples, so a deleted group's go with it; a count that went down (the group
   * was deleted and made again) starts over.
   */
  #ackRates(groups: readonly GroupView[], at: number): Map<string, number | null> {
    const samples = new Map<string, readonly AckSample[]>();
    const rates = new Map<string, number | null>();
    for (const group of groups) {
      const sample = { at, acked: group.state.acked };
      const earlier = (this.#samples.get(group.name) ?? []).filter((previous) => at - previous.at <= kRateSeconds * 1000 && previous.acked <= sample.acked);
      const kept = [...earlier, sample];
      samples.set(group.name, kept);
      const oldest = kept[0]!;
      rates.set(group.name, at > oldest.at ? (sample.acked - oldest.acked) / ((at - oldest.at) / 1000) : null);
    }
    this.#samples = samples;
    return rates;
  }

  /** Keeps the last rows on screen: a failed poll says so below them rather than blanking the card. */
  #showError(error: unknown): void {
    if (error instanceof ApiError && error.needsToken) {
      this.#say(`Consumer groups need the consume token (or the admin token): paste it in the field at the top right. (${error.message})`, true);
      return;
    }
    this.#say(`Could not load consumer groups: ${error instanceof Error ? error.message : String(error)}`, true);
  }

  #say(text: string, isError: boolean): void {
    setText(this.#message, text);
    this.#message.classList.toggle('error', isError);
    this.#message.classList.toggle('muted', !isError);
  }
}
