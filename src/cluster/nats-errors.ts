/**
 * The JetStream API errors cluster mode tells apart, by the code nats-server gives each
 * (`err_code` in its errors.json; nats.js puts the reply's error on `api_error`). Their message
 * text is the server's wording, not a contract: nothing here reads it.
 */
const kApiErrorCodes = {
  /** JSNoMessageFoundErr: a get by position past the stream's end, or of a purged message. */
  noMessageFound: 10037,
  /** JSStreamNotFoundErr. */
  streamNotFound: 10059,
  /** JSStreamWrongLastSequenceErrF: a KV create of a key that exists, or an update at a stale revision. */
  wrongLastSequence: 10071,
} as const;

export type ApiErrorName = keyof typeof kApiErrorCodes;

export function isApiError(error: unknown, name: ApiErrorName): boolean {
  return (error as { api_error?: { err_code?: unknown } } | null | undefined)?.api_error?.err_code === kApiErrorCodes[name];
}
