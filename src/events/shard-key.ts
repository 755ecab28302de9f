/**
 * Which shard owns an identity. FNV-1a (32 bit) over the topic, a NUL separator and the event id,
 * as UTF-16 code units. This mapping is part of the data format: every stored key was routed by
 * it, so it must never change for an existing data dir (the tests pin known values).
 */
export function shardOf(topic: string, eventId: string, shardCount: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < topic.length; index++) {
    hash = Math.imul(hash ^ topic.charCodeAt(index), 0x01000193);
  }
  hash = Math.imul(hash, 0x01000193); // the NUL separator: xor with 0 is a no-op
  for (let index = 0; index < eventId.length; index++) {
    hash = Math.imul(hash ^ eventId.charCodeAt(index), 0x01000193);
  }
  return (hash >>> 0) % shardCount;
}
