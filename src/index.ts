export { Aggregator, type AggregatorOptions } from './aggregator.js';
export { defaults, helpText, parseCommandLine, resolveConfig, type Config } from './config.js';
export { AggregatorError, errorCodes, httpStatus, type ErrorCode } from './errors.js';
export { Consumer, ConsumerError, type ConsumerOptions, type ConsumerCounters, type GroupConfig, type Message, type AckStatus } from './consumer/consumer.js';
