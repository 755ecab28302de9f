import { Agent, request } from 'node:http';
import { batchBody } from './events.js';

export interface FillOptions {
  /** Ids are `<prefix><n>` for n from `first` on; none repeats, so every event is stored. */
  readonly prefix: string;
  readonly first: number;
  readonly batch?: number;
  /** Requests in flight (keep-alive connections). */
  readonly connections?: number;
}

export interface FillResult {
  readonly events: number;
  readonly requests: number;
  /** 503 answers, each retried after a short pause. */
  readonly retries: number;
  readonly seconds: number;
}

function post(agent: Agent, url: URL, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Publishes `events` new events to a running service as fast as it takes them: prebuilt-on-the-fly
 * 1000-event JSON bodies over node:http keep-alive connections. Cheap enough on the generator
 * side that the service stays the bottleneck.
 */
export async function fill(baseUrl: string, events: number, options: FillOptions): Promise<FillResult> {
  const batch = options.batch ?? 1000;
  const connections = options.connections ?? 4;
  const url = new URL('/publish', baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const started = performance.now();
  let next = 0;
  let requests = 0;
  let retries = 0;
  const loop = async (): Promise<void> => {
    while (next < events) {
      const count = Math.min(batch, events - next);
      const body = batchBody(options.first + next, count, options.prefix);
      next += count;
      for (;;) {
        const status = await post(agent, url, body);
        requests++;
        if (status === 200) break;
        if (status !== 503) throw new Error(`fill: POST /publish answered ${status}`);
        retries++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: connections }, loop));
  } finally {
    agent.destroy();
  }
  return { events, requests, retries, seconds: (performance.now() - started) / 1000 };
}
