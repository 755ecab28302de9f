import type { StoreBatch } from '../../../src/store/shard-db.js';

/** A store batch of events `[seq, event_id]`: ids starting with b go to topic.b, the rest to topic.a. */
export function batch(seqs: [number, string][], extra: Partial<StoreBatch> = {}): StoreBatch {
  return {
    receivedAt: 1_700_000_000_000,
    rejected: 0,
    wantsStatuses: true,
    events: seqs.map(([seq, eventId]) => ({ seq, topic: eventId.startsWith('b') ? 'topic.b' : 'topic.a', eventId, timestamp: '2025-10-22T10:30:00Z', source: 's', payload: `{"seq":${seq}}` })),
    ...extra,
  };
}
