import { bodyFormat } from '../events/decode.js';
import type { IngestPipeline } from '../ingest/pipeline.js';
import type { Answer, UploadRequest } from './upload.js';

/** POST /publish: our own protocol, one event, an array, NDJSON or msgpack; `?results=1` adds per-event verdicts. */
export function publishHandler(pipeline: IngestPipeline): (request: UploadRequest) => Promise<Answer> {
  return (request) => {
    const wantsResults = /^(1|true)$/.test(request.query.get('results') ?? '');
    // bodyFormat throws the 415 before anything is parsed: the contract's order of statuses.
    return pipeline.ingest(request.body, bodyFormat(request.contentType), wantsResults).then((result) => ({ status: 200, body: JSON.stringify(result) }));
  };
}
