/**
 * TLS for a listener, terminated by Node's `tls` in this process, in front of the uWS server.
 *
 *   client ──TLS──▶ tls.Server (host:port) ──plain bytes──▶ uWS on a Unix socket (0700 dir)
 *
 * Why not uWS's own SSLApp: the build we install (its README says "no SSL") does serve TLS here,
 * but it cannot require a client certificate (with a CA it refuses a bad one and lets a client
 * without one through) and has no way to swap a certificate on a listening socket. Node's
 * `tls.Server` has both (`requestCert` + `rejectUnauthorized`, `setSecureContext`). The cost of the
 * extra hop was measured against plain and against SSLApp (bench/tls.ts, BENCHMARKS.md).
 *
 * The inner server listens on a Unix socket in a directory only this user can enter, so nobody
 * on the machine reaches it around the TLS listener (a loopback port would let them).
 */
import { readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { createSecureContext, createServer, type SecureContextOptions, type Server, type TLSSocket } from 'node:tls';
import { ConfigError } from '../errors.js';

export interface TlsFiles {
  /** PEM certificate chain. */
  readonly certFile: string;
  /** PEM private key. */
  readonly keyFile: string;
  /** PEM CA bundle: when set, every client must present a certificate it signed. */
  readonly clientCaFile: string | null;
}

export interface TlsFrontOptions extends TlsFiles {
  readonly host: string;
  readonly port: number;
  /** The Unix socket the plain server listens on. */
  readonly innerPath: string;
  /** How often the files are checked for a new certificate, ms (0: never; SIGHUP still reloads). */
  readonly reloadMs: number;
  readonly onReload?: (outcome: { readonly ok: true } | { readonly ok: false; readonly error: string }) => void;
}

/**
 * Reads the three files; a missing or unreadable file, or a key that is not the certificate's, is a
 * ConfigError (a context is built once to find out, as the server builds its own from the same options).
 */
export function readTlsFiles(files: TlsFiles): SecureContextOptions {
  try {
    const options: SecureContextOptions = {
      cert: readFileSync(files.certFile),
      key: readFileSync(files.keyFile),
      ...(files.clientCaFile ? { ca: readFileSync(files.clientCaFile) } : {}),
      minVersion: 'TLSv1.2',
    };
    createSecureContext(options);
    return options;
  } catch (error) {
    throw new ConfigError(`cannot use the TLS certificate ${files.certFile} and key ${files.keyFile}${files.clientCaFile ? ` with client CA ${files.clientCaFile}` : ''}: ${(error as Error).message}`);
  }
}

export class TlsFront {
  readonly #options: TlsFrontOptions;
  readonly #server: Server;
  #stamp: string;
  #timer: NodeJS.Timeout | null = null;

  constructor(options: TlsFrontOptions) {
    this.#options = options;
    this.#stamp = this.#filesStamp();
    this.#server = createServer({
      ...readTlsFiles(options),
      requestCert: options.clientCaFile !== null,
      rejectUnauthorized: options.clientCaFile !== null,
      // A client that opens a connection and never finishes the handshake holds nothing for long.
      handshakeTimeout: 10_000,
    });
    this.#server.on('secureConnection', (socket) => this.#forward(socket));
    // A failed handshake (a plain HTTP client, an untrusted certificate) closes that socket only.
    this.#server.on('tlsClientError', (_error, socket) => socket.destroy());
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const failed = (error: NodeJS.ErrnoException): void => reject(new ConfigError(`cannot listen on ${this.#options.host}:${this.#options.port}: ${error.code ?? error.message}`));
      this.#server.once('error', failed);
      this.#server.listen(this.#options.port, this.#options.host, () => {
        this.#server.off('error', failed);
        const address = this.#server.address();
        if (this.#options.reloadMs > 0) {
          this.#timer = setInterval(() => this.#reloadIfChanged(), this.#options.reloadMs);
          this.#timer.unref();
        }
        resolve(typeof address === 'object' && address !== null ? address.port : this.#options.port);
      });
    });
  }

  /**
   * Reads the files again and uses them for new connections; connections already open keep theirs.
   * A bad file leaves the previous certificate in place (and says so): a half-written renewal must
   * not take the listener down.
   */
  reload(): void {
    try {
      this.#server.setSecureContext(readTlsFiles(this.#options));
      this.#options.onReload?.({ ok: true });
    } catch (error) {
      this.#options.onReload?.({ ok: false, error: (error as Error).message });
    }
  }

  /** Stops accepting; open connections go on until the inner server closes them. */
  stopListening(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#server.close();
  }

  #forward(outer: TLSSocket): void {
    const inner = connect(this.#options.innerPath);
    outer.setNoDelay(true);
    // Either side ending or failing ends the other: no half-open pairs left behind.
    const closeBoth = (): void => {
      outer.destroy();
      inner.destroy();
    };
    outer.on('error', closeBoth).on('close', closeBoth);
    inner.on('error', closeBoth).on('close', closeBoth);
    outer.pipe(inner);
    inner.pipe(outer);
  }

  #reloadIfChanged(): void {
    const stamp = this.#filesStamp();
    if (stamp === this.#stamp) return;
    this.#stamp = stamp;
    this.reload();
  }

  /** Size and mtime of each file: a renewal (new file renamed over, or rewritten) changes it. */
  #filesStamp(): string {
    return [this.#options.certFile, this.#options.keyFile, this.#options.clientCaFile].map((file) => {
      if (file === null) return '';
      try {
        const stat = statSync(file);
        return `${stat.size}:${stat.mtimeMs}:${stat.ino}`;
      } catch {
        return 'missing';
      }
    }).join('|');
  }
}
