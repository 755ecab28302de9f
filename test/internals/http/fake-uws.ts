/**
 * Small fakes of the uWS request and response, for the modules that take them as parameters
 * (body.ts, reply.ts, upload.ts). Only the methods those modules call exist; the test drives the
 * rest (`deliver`, `abort`).
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';

export class FakeResponse {
  #onData: ((chunk: ArrayBuffer, isLast: boolean) => void) | null = null;
  #onAborted: (() => void) | null = null;
  #answered!: (response: FakeResponse) => void;
  /** Resolves when `end` is called. */
  readonly answered = new Promise<FakeResponse>((resolve) => (this.#answered = resolve));
  status: string | null = null;
  readonly headers: [string, string][] = [];
  body: string | null = null;
  closeConnection: boolean | null = null;
  ends = 0;
  /** Writes made outside `cork` (uWS wants a late answer corked). */
  uncorkedWrites = 0;
  #corked = false;

  get uws(): HttpResponse {
    return this as unknown as HttpResponse;
  }

  get hasDataHandler(): boolean {
    return this.#onData !== null;
  }

  header(name: string): string | undefined {
    return this.headers.find(([candidate]) => candidate === name)?.[1];
  }

  /** The answer body as JSON. */
  json(): unknown {
    return JSON.parse(this.body ?? 'null');
  }

  // The uWS side.

  getRemoteAddressAsText(): ArrayBuffer {
    return new TextEncoder().encode('127.0.0.1').buffer as ArrayBuffer;
  }
  onData(handler: (chunk: ArrayBuffer, isLast: boolean) => void): this {
    this.#onData = handler;
    return this;
  }

  onAborted(handler: () => void): this {
    this.#onAborted = handler;
    return this;
  }

  cork(callback: () => void): this {
    this.#corked = true;
    try {
      callback();
    } finally {
      this.#corked = false;
    }
    return this;
  }

  writeStatus(status: string): this {
    if (!this.#corked) this.uncorkedWrites++;
    this.status = status;
    return this;
  }

  writeHeader(name: string, value: string): this {
    if (!this.#corked) this.uncorkedWrites++;
    this.headers.push([name, value]);
    return this;
  }

  end(body: string | Uint8Array = '', closeConnection = false): this {
    if (!this.#corked) this.uncorkedWrites++;
    this.ends++;
    this.body = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
    this.closeConnection = closeConnection;
    this.#answered(this);
    return this;
  }

  // The test side.
  /**
   * Hands one chunk to the data handler as uWS does: an ArrayBuffer lent for the duration of the
   * call, overwritten right after it (uWS reuses its buffer).
   */
  deliver(bytes: Uint8Array | string, isLast: boolean): void {
    if (!this.#onData) throw new Error('no onData handler');
    const source = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    const lent = new ArrayBuffer(source.length);
    new Uint8Array(lent).set(source);
    this.#onData(lent, isLast);
    new Uint8Array(lent).fill(0x21);
  }

  /** The client went away. */
  abort(): void {
    this.#onAborted?.();
  }
}

export interface FakeRequestInit {
  /** Header lines as sent, names in lower case (uWS lowers them); a name may repeat. */
  readonly headers?: readonly [string, string][];
  readonly query?: string;
  readonly parameters?: readonly string[];
}

export class FakeRequest {
  readonly #init: FakeRequestInit;

  constructor(init: FakeRequestInit = {}) {
    this.#init = init;
  }

  get uws(): HttpRequest {
    return this as unknown as HttpRequest;
  }

  getHeader(name: string): string {
    return this.#init.headers?.find(([candidate]) => candidate === name)?.[1] ?? '';
  }

  getQuery(): string | undefined {
    return this.#init.query;
  }

  getParameter(index: number): string | undefined {
    return this.#init.parameters?.[index];
  }

  forEach(callback: (name: string, value: string) => void): void {
    for (const [name, value] of this.#init.headers ?? []) callback(name, value);
  }
}

/** Runs every callback already queued: promise reactions, and I/O callbacks that are due. */
export function drained(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
