/**
 * Why a publisher request finally failed, with a stable code a script can match on (the JSON
 * report carries it). Transient trouble never surfaces here: it is retried first.
 */
export type PublisherErrorCode =
  /** network errors or retryable statuses (503…) until --max-retries ran out */
  | 'retries_exhausted'
  /** an answer that retrying cannot change: a 4xx other than 408/429, or a 5xx other than 502-504 */
  | 'refused'
  /** a 200 whose body is not the documented {accepted, unique, duplicates}, or disagrees with the request */
  | 'bad_reply'
  /** the run was interrupted (SIGINT) before this request was answered */
  | 'aborted';

export class PublisherError extends Error {
  readonly code: PublisherErrorCode;

  constructor(code: PublisherErrorCode, message: string) {
    super(message);
    this.name = 'PublisherError';
    this.code = code;
  }
}
