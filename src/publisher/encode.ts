import { Packr } from 'msgpackr';
import type { PublisherEvent } from './generate.js';
import type { BodyFormat } from './options.js';

/** A request body ready to send, and re-send as is on a retry. */
export interface EncodedBody {
  readonly bytes: Buffer;
  readonly contentType: string;
  readonly eventCount: number;
}

const contentTypes: Readonly<Record<BodyFormat, string>> = {
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  msgpack: 'application/msgpack',
};

// Plain maps and arrays only: the server decodes with records and extensions turned off.
const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false });

/**
 * Encodes one request. `single` sends a bare event (JSON object, one NDJSON line, a msgpack map),
 * otherwise an array, so both shapes of POST /publish get exercised.
 */
export function encodeBody(events: readonly PublisherEvent[], single: boolean, format: BodyFormat): EncodedBody {
  const value = single && events.length === 1 ? events[0] : events;
  let bytes: Buffer;
  if (format === 'msgpack') {
    // pack() returns a view into msgpackr's reused buffer; copy it, the body must outlive retries.
    bytes = Buffer.from(packr.pack(value));
  } else if (format === 'ndjson') {
    bytes = Buffer.from(events.map((event) => `${JSON.stringify(event)}\n`).join(''));
  } else {
    bytes = Buffer.from(JSON.stringify(value));
  }
  return { bytes, contentType: contentTypes[format], eventCount: events.length };
}
