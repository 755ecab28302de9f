import { BadJsonError, type EventProblem } from '../errors.js';
import { textOf } from '../events/decode.js';
import type { IngestPipeline, ItemOutcome } from '../ingest/pipeline.js';
import { parseBulk, renderBulkResponse, type BulkVerdict } from '../shippers/elasticsearch.js';
import type { Reply } from './reply.js';
import type { Answer, UploadRequest } from './upload.js';

/** Every answer under the Elasticsearch prefix carries it: the official clients refuse a 2xx without it. */
export const elasticProductHeaders: Readonly<Record<string, string>> = { 'x-elastic-product': 'Elasticsearch' };

/** The Elasticsearch version we answer as: the 8.x clients (and Vector, syslog-ng) speak to it. */
const kVersion = '8.11.0';

export interface ElasticsearchSources {
  readonly pipeline: IngestPipeline;
  readonly name: string;
  readonly shards: number;
  /** Document field (dotted path) the event's `source` is read from; absent: the index name. */
  readonly sourceField: string;
  readonly problems: () => readonly string[];
}

/**
 * The Elasticsearch-compatible API a log shipper is pointed at (`http://host:port/es` as its node
 * URL): the probes clients make before they send, and `_bulk`, which stores each document once by
 * (index, _id) exactly as /publish stores (topic, event_id).
 */
export class ElasticsearchHandlers {
  readonly #sources: ElasticsearchSources;

  constructor(sources: ElasticsearchSources) {
    this.#sources = sources;
  }

  info(reply: Reply): void {
    const body = {
      name: this.#sources.name,
      cluster_name: this.#sources.name,
      cluster_uuid: 'exactly-once-aggregator',
      version: { number: kVersion, build_flavor: 'default', build_type: 'aggregator', lucene_version: '9.8.0', minimum_wire_compatibility_version: '7.17.0', minimum_index_compatibility_version: '7.0.0' },
      tagline: 'You Know, for Search',
    };
    reply.send(200, JSON.stringify(body));
  }

  /** HEAD / and HEAD /_cat/health: a 200 with no body says the node is there. */
  present(reply: Reply): void {
    reply.send(200, '');
  }

  clusterHealth(reply: Reply): void {
    const health = this.#health();
    reply.send(
      200,
      JSON.stringify({
        cluster_name: this.#sources.name,
        status: health.status,
        timed_out: false,
        number_of_nodes: 1,
        number_of_data_nodes: 1,
        active_primary_shards: health.active,
        active_shards: health.active,
        relocating_shards: 0,
        initializing_shards: 0,
        unassigned_shards: health.unassigned,
      }),
    );
  }

  /**
   * GET /_cat/health, which rsyslog's omelasticsearch and the clients' health checks probe: one
   * line of text as Elasticsearch prints it (`?v` adds the header, `?h=` picks columns), or with
   * `?format=json` the same row as an array of one object whose values are all strings.
   */
  catHealth(query: URLSearchParams, reply: Reply): void {
    const health = this.#health();
    const now = new Date();
    const row = catHealthRow(this.#sources.name, health, now);
    const wanted = query.get('h')?.split(',').map((name) => name.trim()).filter((name) => name in row) ?? [];
    const columns = wanted.length > 0 ? wanted : Object.keys(row);
    if (query.get('format') === 'json') {
      reply.send(200, JSON.stringify([Object.fromEntries(columns.map((column) => [column, row[column]]))]));
      return;
    }
    const header = query.has('v') && query.get('v') !== 'false' ? columns : null;
    reply.send(200, catText(header, columns.map((column) => row[column]!)), { contentType: 'text/plain; charset=UTF-8' });
  }

  #health(): ShardHealth {
    const healthy = this.#sources.problems().length === 0;
    const shards = this.#sources.shards;
    // As the API has always answered: every shard counted active, and when red unassigned too.
    return { status: healthy ? 'green' : 'red', active: shards, unassigned: healthy ? 0 : shards };
  }

  /** POST /_bulk and POST /<index>/_bulk. */
  readonly bulk = async (request: UploadRequest): Promise<Answer> => {
    const started = performance.now();
    const defaultIndex = request.parameters[0] ? decodedSegment(request.parameters[0]) : null;
    const items = parseBulk(textOf(request.body), defaultIndex, this.#sources.sourceField, new Date());
    if (items.length === 0) throw new BadJsonError('no requests added: a bulk body holds action and document lines');
    const storable = items.flatMap((item, position) => (item.event ? [{ position, event: item.event }] : []));
    const outcomes = storable.length > 0 ? await this.#sources.pipeline.ingestItems(storable.map((item) => item.event), 'elasticsearch') : [];
    const verdicts: BulkVerdict[] = items.map((item) => item.error ?? 'duplicate');
    storable.forEach((item, index) => (verdicts[item.position] = verdictOf(outcomes[index]!)));
    return { status: 200, body: renderBulkResponse(items, verdicts, performance.now() - started) };
  };
}

interface ShardHealth {
  readonly status: 'green' | 'red';
  readonly active: number;
  readonly unassigned: number;
}

/** Elasticsearch 8.11's `_cat/health` columns, in its order, each value a string as it prints them. */
function catHealthRow(cluster: string, health: ShardHealth, now: Date): Record<string, string> {
  const percent = (100 * health.active) / Math.max(1, health.active + health.unassigned);
  return {
    epoch: String(Math.floor(now.getTime() / 1000)),
    timestamp: now.toISOString().slice(11, 19),
    cluster,
    status: health.status,
    'node.total': '1',
    'node.data': '1',
    shards: String(health.active),
    pri: String(health.active),
    relo: '0',
    init: '0',
    unassign: String(health.unassigned),
    pending_tasks: '0',
    max_task_wait_time: '-',
    active_shards_percent: `${percent.toFixed(1)}%`,
  };
}

/** Columns padded to their widest cell, as Elasticsearch's cat API prints them: names left, numbers right. */
function catText(header: readonly string[] | null, row: readonly string[]): string {
  const widths = row.map((cell, column) => Math.max(cell.length, header?.[column]?.length ?? 0));
  const line = (cells: readonly string[], alignNumbers: boolean): string =>
    cells.map((cell, column) => (alignNumbers && /^[\d.]+%?$/.test(cell) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join(' ').trimEnd() + '\n';
  return (header ? line(header, false) : '') + line(row, true);
}

/** A path segment as its sender meant it; a malformed escape stays as sent, and fails as an index name per item. */
function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function verdictOf(outcome: ItemOutcome): BulkVerdict {
  if (typeof outcome === 'string') return outcome;
  return { status: 400, type: isTopicProblem(outcome) ? 'invalid_index_name_exception' : 'mapper_parsing_exception', reason: `${outcome.path || 'document'}: ${outcome.message}` };
}

function isTopicProblem(problem: EventProblem): boolean {
  return problem.path === '/topic';
}
