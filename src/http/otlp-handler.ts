import { UnsupportedMediaTypeError, type EventProblem } from '../errors.js';
import { mediaTypeOf, textOf } from '../events/decode.js';
import type { IngestPipeline } from '../ingest/pipeline.js';
import { decodeOtlpJson } from '../shippers/otlp-json.js';
import { decodeOtlpProtobuf } from '../shippers/otlp-protobuf.js';
import { exportLogsResponse, otlpEvent, type OtlpEncoding, type OtlpMapping } from '../shippers/otlp.js';
import type { Answer, UploadHandler } from './upload.js';

const encodings: Readonly<Record<string, OtlpEncoding>> = { 'application/x-protobuf': 'protobuf', 'application/protobuf': 'protobuf', 'application/json': 'json' };
const contentTypes: Readonly<Record<OtlpEncoding, string>> = { protobuf: 'application/x-protobuf', json: 'application/json' };

/**
 * POST /v1/logs (OTLP/HTTP): each log record stored once, acknowledged only once committed; a
 * record that cannot be stored is counted in `partialSuccess`, the others are kept. Overload is
 * the 503 + Retry-After the OTel exporters wait on and retry.
 */
export function otlpHandler(pipeline: IngestPipeline, mapping: OtlpMapping): UploadHandler {
  return async (request): Promise<Answer> => {
    const encoding = encodings[mediaTypeOf(request.contentType)];
    if (!encoding) throw new UnsupportedMediaTypeError(request.contentType, 'OTLP/HTTP takes application/x-protobuf or application/json');
    const records = encoding === 'json' ? decodeOtlpJson(textOf(request.body)) : decodeOtlpProtobuf(request.body);
    const receivedAt = new Date();
    const outcomes = records.length > 0 ? await pipeline.ingestItems(records.map((record) => otlpEvent(record, mapping, receivedAt)), 'otlp') : [];
    const problems = outcomes.filter((outcome): outcome is EventProblem => typeof outcome === 'object');
    const first = problems[0];
    const message = first ? `${problems.length} of ${records.length} log records refused; the first, record ${first.index}: ${first.path || 'record'}: ${first.message}` : '';
    return { status: 200, body: exportLogsResponse(encoding, problems.length, message), contentType: contentTypes[encoding] };
  };
}
