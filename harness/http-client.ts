/**
 * The small HTTP client the tests and benches talk to the service with (publish, /stats, paging
 * /events to the end); waits on the server's own progress go through wait.ts.
 * Re-exported by test/helper.ts; importable without it (helper.ts registers node:test hooks).
 */
export interface Reply<T = any> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

export interface PublishOptions {
  readonly contentType?: string;
  readonly query?: string;
}

/** POSTs events (an object or array, serialised as JSON) or a raw body. */
export async function publish(url: string, body: unknown, options: PublishOptions = {}): Promise<Reply> {
  const raw = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
  const response = await fetch(`${url}/publish${options.query ?? ''}`, {
    method: 'POST',
    headers: { 'content-type': options.contentType ?? 'application/json' },
    body: raw,
  });
  return { status: response.status, headers: response.headers, body: await readJson(response) };
}

export async function getJson<T = any>(url: string): Promise<Reply<T>> {
  const response = await fetch(url);
  return { status: response.status, headers: response.headers, body: (await readJson(response)) as T };
}

export async function stats(url: string): Promise<any> {
  return (await getJson(`${url}/stats`)).body;
}

/** Pages through /events to the end and returns every event, in the order served. */
export async function allEvents(url: string, topic?: string, limit = 1000): Promise<any[]> {
  const events: any[] = [];
  let after: string | null = null;
  for (;;) {
    const params = new URLSearchParams({ limit: String(limit) });
    if (topic) params.set('topic', topic);
    if (after) params.set('after', after);
    const page = await getJson(`${url}/events?${params}`);
    if (page.status !== 200) throw new Error(`/events answered ${page.status}: ${JSON.stringify(page.body)}`);
    events.push(...page.body.events);
    if (page.body.count === 0) return events;
    after = page.body.next;
  }
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  return text === '' ? null : safeParse(text) ?? text;
}

function safeParse(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
