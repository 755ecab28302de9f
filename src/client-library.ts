/**
 * `exactly-once-aggregator/client`: the library for talking to the aggregator from Node.
 * Publishing: `Client` (docs/CLIENT.md). Consuming through a consumer group: `Consumer`.
 * Everything else in the package is the service itself.
 */
export { Client, type AggregatorEvent } from './client/client.js';
export type { Verdict } from './client/answer.js';
export { ClientError, type ClientErrorCode, type EventProblem } from './client/errors.js';
export { clientDefaults, type ClientOptions } from './client/options.js';
export type { RetryNotice, TlsOptions } from './client/transport.js';

export {
  Consumer,
  ConsumerError,
  type AckStatus,
  type ConsumerCounters,
  type ConsumerErrorCode,
  type ConsumerOptions,
  type GroupConfig,
  type GroupInfo,
  type GroupStart,
  type Message,
  type MessageHandler,
  type RetryNotice as ConsumerRetryNotice,
  type SettleResult,
  type StoredEvent,
} from './consumer/consumer.js';
