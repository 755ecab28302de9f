/**
 * Which Loki stream a topic comes from. Loki 3 gives every stream a `service_name`: the value of
 * the first of these labels that is present and not empty, else `unknown_service`
 * (`discover_service_name`, the limits default). Clients rely on it: pino-loki 3 and winston-loki 6
 * label their streams `service_name` and no `job`, so reading one fixed label filed them all under
 * one topic. The same list, in the same order, is our default, and `--loki-topic-labels` changes it.
 */
import { ConfigError } from '../errors.js';
import { topicFrom } from './mapping.js';

export const kLokiServiceLabels: readonly string[] = Object.freeze([
  'service_name', 'service', 'app', 'application', 'name', 'app_kubernetes_io_name',
  'container', 'container_name', 'component', 'workload', 'job',
]);

/** Loki's name for a stream none of the labels names. */
export const kUnknownService = 'unknown_service';

const kLabelName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `service_name, job` → ['service_name', 'job']; a name that is not a Prometheus label name is refused. */
export function parseLabelNames(text: string): readonly string[] {
  const names = text.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!kLabelName.test(name)) throw new ConfigError(`${JSON.stringify(name)} is not a label name (a letter or _, then letters, digits and _)`);
  }
  return Object.freeze(names);
}

/** The topic of a stream: its first present, non-empty label of `names`, made a topic; else unknown_service. */
export function lokiTopic(labels: Readonly<Record<string, string>>, names: readonly string[]): string {
  for (const name of names) {
    const value = labels[name];
    if (value !== undefined && value !== '') return topicFrom(value) ?? kUnknownService;
  }
  return kUnknownService;
}
