import type { StoredEvent, TailMessage } from './api-types.js';

/** What the stream needs from a WebSocket; the page passes the browser's, tests a fake. */
export interface TailSocketHandlers {
  onOpen(): void;
  onMessage(text: string): void;
  onClose(code: number, reason: string): void;
}

export interface TailSocket {
  close(code?: number, reason?: string): void;
}

export type ConnectTail = (url: string, handlers: TailSocketHandlers) => TailSocket;

export type TailState = 'idle' | 'connecting' | 'live' | 'paused' | 'reconnecting';

export interface TailStreamOptions {
  readonly topic: string | null;
  /** The /tail URL for a topic and cursor (with the token, if any). */
  readonly url: (topic: string | null, after: string | null) => string;
  readonly connect: ConnectTail;
  readonly onEvents: (events: readonly StoredEvent[]) => void;
  readonly onState: (state: TailState, detail: string) => void;
  /** Where "from now" is (the `cursor` of /stats), so a pause before the first event loses nothing. */
  readonly startCursor?: string | null;
  /** Waits before each further attempt after an unexpected close; the last one repeats. */
  readonly retryDelaysMs?: readonly number[];
}

export const kTooSlowCode = 4008;
const kDefaultRetryDelaysMs = [250, 500, 1000, 2000, 5000];

/**
 * One topic's /tail subscription, which survives pauses and dropped connections without losing or
 * repeating an event: it remembers the `next` cursor of the last message and every new connection
 * asks for the events after it. Pause closes the socket (the server keeps nothing for us);
 * a 4008 too_slow close reconnects at once, any other unexpected close after a growing delay.
 */
export class TailStream {
  readonly #options: TailStreamOptions;
  #socket: TailSocket | null = null;
  #cursor: string | null = null;
  #state: TailState = 'idle';
  #failures = 0;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  // Closing a socket reports its close later; a generation per socket tells stale reports apart.
  #generation = 0;

  constructor(options: TailStreamOptions) {
    this.#options = options;
    this.#cursor = options.startCursor ?? null;
  }

  get state(): TailState {
    return this.#state;
  }

  /** The `next` of the last message received: where a new connection resumes. */
  get cursor(): string | null {
    return this.#cursor;
  }

  start(): void {
    if (this.#state !== 'idle') return;
    this.#open('connecting', 'connecting');
  }

  pause(): void {
    if (this.#state === 'idle' || this.#state === 'paused') return;
    this.#disconnect();
    this.#setState('paused', this.#cursor ? 'paused: resumes after the last event shown' : 'paused before any event arrived: resumes from now');
  }

  resume(): void {
    if (this.#state !== 'paused') return;
    this.#open('connecting', 'resuming');
  }

  stop(): void {
    this.#disconnect();
    this.#setState('idle', 'stopped');
  }

  #open(state: TailState, detail: string): void {
    const generation = ++this.#generation;
    this.#setState(state, detail);
    this.#socket = this.#options.connect(this.#options.url(this.#options.topic, this.#cursor), {
      onOpen: () => {
        if (generation !== this.#generation) return;
        this.#failures = 0;
        this.#setState('live', this.#cursor ? 'connected: resumed after the last event shown' : 'connected: events committed from now on appear here');
      },
      onMessage: (text) => {
        if (generation !== this.#generation) return;
        const message = JSON.parse(text) as TailMessage;
        this.#cursor = message.next;
        this.#options.onEvents(message.events);
      },
      onClose: (code, reason) => {
        if (generation !== this.#generation) return;
        this.#socket = null;
        this.#scheduleReconnect(code, reason);
      },
    });
  }

  #scheduleReconnect(code: number, reason: string): void {
    const resumeFrom = this.#cursor ? 'after the last event shown' : 'now';
    if (code === kTooSlowCode) {
      // The server cut us off for falling behind; the cursor says exactly where to pick up.
      this.#setState('reconnecting', `closed ${code} ${reason || 'too_slow'}: resuming ${resumeFrom}`);
      this.#retryTimer = setTimeout(() => this.#open('reconnecting', `resuming ${resumeFrom}`), 0);
      return;
    }
    const delays = this.#options.retryDelaysMs ?? kDefaultRetryDelaysMs;
    const delay = delays[Math.min(this.#failures, delays.length - 1)] ?? 1000;
    this.#failures++;
    this.#setState('reconnecting', `connection closed (${code}${reason ? ` ${reason}` : ''}): retrying in ${(delay / 1000).toFixed(1)} s`);
    this.#retryTimer = setTimeout(() => this.#open('reconnecting', `resuming ${resumeFrom}`), delay);
  }

  #disconnect(): void {
    this.#generation++;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#socket?.close(1000, 'paused');
    this.#socket = null;
  }

  #setState(state: TailState, detail: string): void {
    this.#state = state;
    this.#options.onState(state, detail);
  }
}
