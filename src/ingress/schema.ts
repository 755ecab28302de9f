import { FormatRegistry, Type, type Static } from '@sinclair/typebox';

/**
 * The event schema: the one source of truth for the validator (and later the OpenAPI document).
 * Formats are registered here, next to the schema that names them.
 */

export const topicPattern = '^[A-Za-z0-9][A-Za-z0-9._-]*$';

export const EventSchema = Type.Object(
  {
    topic: Type.String({ minLength: 1, maxLength: 128, pattern: topicPattern, description: 'Stream name; with event_id, the identity of the event' }),
    event_id: Type.String({ minLength: 1, maxLength: 128, format: 'event-id', description: 'Publisher-assigned id, unique within the topic; no control characters' }),
    timestamp: Type.String({ format: 'date-time', description: 'RFC 3339 date-time with a time zone (Z or ±hh:mm)' }),
    source: Type.String({ minLength: 1, maxLength: 128, format: 'well-formed', description: 'The publishing service' }),
    payload: Type.Object({}, { description: 'Any JSON object, may be empty' }),
  },
  { additionalProperties: false, $id: 'Event' },
);

export type Event = Static<typeof EventSchema>;

// C0 controls, DEL and C1 controls.
const controlCharacter = /[\u0000-\u001f\u007f-\u009f]/;
const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/** A lone surrogate cannot be stored as UTF-8 intact, so it would silently change an identity. */
function isWellFormed(value: string): boolean {
  return value.isWellFormed();
}

export function isEventId(value: string): boolean {
  return !controlCharacter.test(value) && isWellFormed(value);
}

export function isRfc3339DateTime(value: string): boolean {
  const match = rfc3339.exec(value);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  if (hour > 23 || minute > 59 || second > 60) return false;
  let offsetMinutes = 0;
  if (match[7]) {
    const offsetHours = Number(match[8]);
    const offsetRest = Number(match[9]);
    if (offsetHours > 23 || offsetRest > 59) return false;
    offsetMinutes = (match[7] === '-' ? -1 : 1) * (offsetHours * 60 + offsetRest);
  }
  if (second === 60) {
    // A leap second is only ever inserted at 23:59:60 UTC.
    const utcMinutes = (((hour * 60 + minute - offsetMinutes) % 1440) + 1440) % 1440;
    return utcMinutes === 23 * 60 + 59;
  }
  return true;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

FormatRegistry.Set('event-id', isEventId);
FormatRegistry.Set('date-time', isRfc3339DateTime);
FormatRegistry.Set('well-formed', isWellFormed);

/** Clearer words than TypeBox's for the formats above, keyed by format name. */
export const formatMessages: Readonly<Record<string, string>> = {
  'event-id': 'must not contain control characters or unpaired surrogates',
  'date-time': 'must be an RFC 3339 date-time with a time zone, e.g. 2025-10-22T10:30:00Z',
  'well-formed': 'must not contain unpaired surrogates',
};
