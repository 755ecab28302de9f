import { createHash, timingSafeEqual } from 'node:crypto';
import { ForbiddenError, UnauthorizedError, type AggregatorError } from '../errors.js';

export type Scope = 'publish' | 'read' | 'consume' | 'admin';

export interface Tokens {
  /** Required for POST /publish; '' leaves publishing open. */
  readonly publishToken: string;
  /** Required for reads (/events, /stats, /metrics, /tail); '' leaves reads open. */
  readonly readToken: string;
  /** Required for the consumer group routes (the admin token also passes); '' leaves them open. */
  readonly consumeToken: string;
  /** Required for deletion; '' turns deletion off (it is never open). */
  readonly adminToken: string;
}

const scopes: readonly Scope[] = ['publish', 'read', 'consume', 'admin'];

/**
 * Optional bearer tokens, one per scope. Tokens are compared as SHA-256 digests with
 * timingSafeEqual: equal lengths, and the time taken says nothing about how much matched.
 */
export class Authenticator {
  readonly #digests: Readonly<Record<Scope, Buffer | null>>;

  constructor(tokens: Tokens) {
    this.#digests = {
      publish: tokens.publishToken ? digest(tokens.publishToken) : null,
      read: tokens.readToken ? digest(tokens.readToken) : null,
      consume: tokens.consumeToken ? digest(tokens.consumeToken) : null,
      admin: tokens.adminToken ? digest(tokens.adminToken) : null,
    };
  }

  /** null when the request may go on; otherwise the 401 (no or unknown token) or 403 (other scope). */
  check(authorization: string, scope: Scope): AggregatorError | null {
    const required = this.#digests[scope];
    // Deleting is never open: without an admin token there is no deletion at all.
    if (!required && scope === 'admin') return new ForbiddenError('deletion is off: start the service with --admin-token to allow it');
    if (!required) return null;
    const token = presentedToken(authorization);
    if (token === null) return new UnauthorizedError(`this route needs "Authorization: Bearer <${scope} token>" (or ApiKey <token>, or Basic with the token as the password)`);
    const presented = digest(token);
    if (timingSafeEqual(presented, required)) return null;
    // The admin may do everything a consumer may: create, delete and drain groups.
    if (scope === 'consume' && this.#digests.admin && timingSafeEqual(presented, this.#digests.admin)) return null;
    for (const other of scopes) {
      const otherDigest = this.#digests[other];
      if (other !== scope && otherDigest && timingSafeEqual(presented, otherDigest)) return new ForbiddenError(`this token may not ${scope === 'admin' ? 'delete' : scope}`);
    }
    return new UnauthorizedError('unknown token');
  }
}

/**
 * The token a request presents, in the forms shippers send: `Bearer <token>`; `ApiKey <token>`
 * (Elasticsearch clients' api_key option); Basic with the token as the password and any user
 * name (Vector, Fluent Bit, rsyslog, the ES clients' username/password options).
 */
function presentedToken(authorization: string): string | null {
  const direct = /^(?:Bearer|ApiKey)[ ]+(\S+)\s*$/i.exec(authorization);
  if (direct) return direct[1]!;
  const basic = /^Basic[ ]+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(authorization);
  if (!basic) return null;
  const credentials = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = credentials.indexOf(':');
  return colon >= 0 && colon < credentials.length - 1 ? credentials.slice(colon + 1) : null;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
