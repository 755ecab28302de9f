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
    const healthy = this.#sources.problems().length === 0;
    const shards = this.#sources.shards;
    reply.send(
      200,
      JSON.stringify({
        cluster_name: this.#sources.name,
        status: healthy ? 'green' : 'red',
        timed_out: false,
        number_of_nodes: 1,
        number_of_data_nodes: 1,
        active_primary_shards: shards,
        active_shards: shards,
        relocating_shards: 0,
        initializing_shards: 0,
        unassigned_shards: healthy ? 0 : shards,
      }),
    );
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
