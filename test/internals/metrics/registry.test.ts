import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Counter, Histogram, Registry, Sampled } from '../../../src/metrics/registry.js';

describe('metrics registry', () => {
  test('renders counters, sampled gauges and cumulative histograms in the text format', () => {
    const registry = new Registry();
    const requests = registry.add(new Counter('requests_total', 'requests'));
    const latency = registry.add(new Histogram('latency_seconds', 'latency', [0.1, 1]));
    registry.add(new Sampled('fill', 'fill ratio', 'gauge', () => [[{ shard: 0 }, 0.5]]));
    requests.inc({ route: 'publish', status: 200 });
    requests.inc({ route: 'publish', status: 200 }, 2);
    requests.inc({ route: 'a"b\\c' });
    for (const value of [0.05, 0.5, 0.5, 3]) latency.observe(value);
    assert.equal(
      registry.render(),
      [
        '# HELP requests_total requests',
        '# TYPE requests_total counter',
        'requests_total{route="publish",status="200"} 3',
        'requests_total{route="a\\"b\\\\c"} 1',
        '# HELP latency_seconds latency',
        '# TYPE latency_seconds histogram',
        'latency_seconds_bucket{le="0.1"} 1',
        'latency_seconds_bucket{le="1"} 3',
        'latency_seconds_bucket{le="+Inf"} 4',
        'latency_seconds_sum 4.05',
        'latency_seconds_count 4',
        '# HELP fill fill ratio',
        '# TYPE fill gauge',
        'fill{shard="0"} 0.5',
        '',
      ].join('\n'),
    );
  });
});
