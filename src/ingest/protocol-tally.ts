import { ingestProtocols } from '../events/responses.js';

export type Protocol = (typeof ingestProtocols)[number];

export interface ProtocolCounts {
  /** Requests that reached a verdict: committed, or refused for their content (not 503s). */
  requests: number;
  received: number;
  unique: number;
  duplicates: number;
  rejected: number;
}

/**
 * Per-protocol counts since this process started, kept on the ingress thread. Not persisted: the
 * data dir's counters (/stats totals) are the exact, durable ones; these say which door the
 * events came through.
 */
export class ProtocolTally {
  readonly #counts = new Map<Protocol, ProtocolCounts>(ingestProtocols.map((protocol) => [protocol, { requests: 0, received: 0, unique: 0, duplicates: 0, rejected: 0 }]));

  committed(protocol: Protocol, received: number, unique: number, rejected: number): void {
    const counts = this.#counts.get(protocol)!;
    counts.requests++;
    counts.received += received;
    counts.unique += unique;
    counts.duplicates += received - unique;
    counts.rejected += rejected;
  }

  refused(protocol: Protocol, rejected: number): void {
    const counts = this.#counts.get(protocol)!;
    counts.requests++;
    counts.rejected += rejected;
  }

  entries(): IterableIterator<[Protocol, Readonly<ProtocolCounts>]> {
    return this.#counts.entries();
  }
}
