/**
 * Which nodes hold which shards (`--replicas R`): rendezvous hashing over the live node set. Each
 * shard ranks every node by a hash of (node, shard) and takes the R highest that still have room,
 * so every node computes the same placement from the same set with no coordinator, and a node
 * joining or leaving moves mostly the shards it wins or held, not a reshuffle of the rest.
 *
 * A move is make-before-break: a node that is no longer placed keeps its replica, and goes on
 * applying and serving it, until enough of the newly placed replicas are caught up, so a shard
 * never has fewer caught-up replicas than min(R, live nodes) when that can be avoided.
 */
import { createHash } from 'node:crypto';

/**
 * The R nodes (fewer when fewer are live) placed for each shard. Every node gets a quota of R·K/N
 * replicas (rounded: the first nodes by their own rank take the remainder), and each shard, in
 * order, takes the highest-ranked nodes with quota left (bounded-load rendezvous): with few shards
 * per node plain rendezvous is lumpy (8 shards on 4 nodes gave one node 2 and another 6). A node
 * whose quota left equals the shards left must take this one, so no quota is ever stranded.
 */
export function placeAll(shards: number, nodes: readonly string[], replicas: number): string[][] {
  const count = Math.min(replicas, nodes.length);
  const total = count * shards;
  const byOwnRank = rankedFor(-1, nodes);
  const quota = new Map(byOwnRank.map((node, index) => [node, Math.floor(total / nodes.length) + (index < total % nodes.length ? 1 : 0)]));
  const placement: string[][] = [];
  for (let shard = 0; shard < shards; shard++) {
    const left = shards - shard;
    const ranked = rankedFor(shard, nodes);
    const placed = ranked.filter((node) => quota.get(node) === left);
    for (const node of ranked) if (placed.length < count && !placed.includes(node) && quota.get(node)! > 0) placed.push(node);
    for (const node of placed) quota.set(node, quota.get(node)! - 1);
    placement.push(placed.sort((a, b) => ranked.indexOf(a) - ranked.indexOf(b)));
  }
  return placement;
}

/** Every node, highest rank for `shard` first: the same order on every node. */
function rankedFor(shard: number, nodes: readonly string[]): string[] {
  return [...nodes]
    .map((node) => ({ node, rank: rank(node, shard) }))
    .sort((a, b) => (a.rank === b.rank ? (a.node < b.node ? -1 : 1) : a.rank < b.rank ? 1 : -1))
    .map((ranked) => ranked.node);
}

/** What each node says it holds and has caught up on (membership.ts heartbeats). */
export interface NodeReport {
  readonly hosting: readonly number[];
  readonly caughtUp: readonly number[];
  /** false: a router node (`--hold-shards off`), which placement leaves out. */
  readonly holds: boolean;
}

/**
 * The shards `self` should hold now: those placed on it, and those it already holds while the
 * nodes placed for them are not yet caught up on enough of them to let it go. A router node
 * (`holds` false) is placed nothing.
 */
export function shardsToHold(self: { readonly id: string; readonly holds: boolean }, shards: number, live: ReadonlyMap<string, NodeReport>, replicas: number, holding: ReadonlySet<number>): Set<number> {
  const nodes = [...live].flatMap(([node, report]) => (report.holds && node !== self.id ? [node] : []));
  if (self.holds) nodes.push(self.id);
  const held = new Set<number>();
  const placement = placeAll(shards, nodes.sort(), replicas);
  for (let shard = 0; shard < shards; shard++) {
    const placed = placement[shard]!;
    if (placed.includes(self.id)) {
      held.add(shard);
      continue;
    }
    if (!holding.has(shard)) continue;
    const caughtUp = placed.filter((node) => live.get(node)?.caughtUp.includes(shard) ?? false).length;
    if (caughtUp < Math.min(replicas, nodes.length)) held.add(shard);
  }
  return held;
}

/** 64 bits of SHA-256 over (node, shard), as a bigint: uniform, and the same on every node and platform. */
function rank(node: string, shard: number): bigint {
  return createHash('sha256').update(`${node}\u0000${shard}`).digest().readBigUInt64BE(0);
}
