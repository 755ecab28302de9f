import type { StoredEvent } from './api-types.js';
import { h } from './dom.js';

/** One event: its fields as a list and its payload pretty-printed. */
export function eventDetail(event: StoredEvent): HTMLElement {
  const field = (name: string, value: string | number) => [h('dt', null, name), h('dd', null, String(value))];
  return h(
    'div',
    { class: 'event-detail' },
    h('dl', null, ...field('topic', event.topic), ...field('event_id', event.event_id), ...field('seq', event.seq), ...field('timestamp', event.timestamp), ...field('source', event.source), ...field('received_at', event.received_at)),
    h('div', { class: 'label' }, 'payload'),
    h('pre', { class: 'json', attrs: { 'data-payload': event.event_id } }, JSON.stringify(event.payload, null, 2)),
  );
}

/** A one-line preview of a payload for lists. */
export function payloadPreview(event: StoredEvent, maxLength = 120): string {
  const text = JSON.stringify(event.payload);
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
}
