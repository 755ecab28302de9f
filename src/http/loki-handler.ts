import { mediaTypeOf, textOf } from '../events/decode.js';
import type { IngestPipeline } from '../ingest/pipeline.js';
import { lokiEventsFromJson, lokiEventsFromProtobuf, type LokiMapping } from '../shippers/loki.js';
import { decodeSnappy } from './content-encoding.js';
import type { Answer, UploadHandler } from './upload.js';

const kNoContent: Answer = { status: 204, body: '' };

/**
 * POST /loki/api/v1/push: JSON, or Loki's default snappy-compressed protobuf (as Loki, any
 * Content-Type but application/json is read as protobuf). All or nothing, as /publish: 204 once
 * every entry is committed; an entry that cannot be stored refuses the request (422).
 */
export function lokiHandler(pipeline: IngestPipeline, mapping: LokiMapping, maxBodyBytes: number): UploadHandler {
  return async (request): Promise<Answer> => {
    const receivedAt = new Date();
    const events =
      mediaTypeOf(request.contentType) === 'application/json'
        ? lokiEventsFromJson(textOf(request.body), mapping, receivedAt)
        : lokiEventsFromProtobuf(decodeSnappy(request.body, maxBodyBytes), mapping, receivedAt);
    if (events.length > 0) await pipeline.ingestEvents(events, false, 'loki');
    return kNoContent;
  };
}
