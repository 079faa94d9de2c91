import type { Client } from '../client-auth/client.js';
import type { TokenType } from '../tokens/token.js';

/**
 * Sent after a successful revocation: the counterpart of Authlib's `after_revoke_token`
 * signal. It names the token by its metadata and digest, never its value.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export interface RevokedEvent {
  readonly token: {
    readonly type: TokenType;
    readonly clientId: string;
    readonly id?: string | undefined;
    readonly grantId?: string | undefined;
  };
  /** The client that asked for the revocation. */
  readonly client: Client;
  /** `grant` when the whole grant was revoked, `token` when only the token was. */
  readonly cascade: 'token' | 'grant';
}

/** Sent when a request failed for a reason the client does not cause: storage or a bug. */
export interface ErrorEvent {
  readonly endpoint: string;
  readonly error: unknown;
}

/** Sent after every answer, for access logs. Holds no token and no secret. */
export interface ResponseEvent {
  /** `undefined` for a path with no endpoint (404). */
  readonly endpoint: string | undefined;
  readonly method: string;
  /**
   * The path answered; `undefined` for a path with no endpoint, which is whatever the
   * client sent and may hold a token (`/oauth/revoke/SECRET`).
   */
  readonly path: string | undefined;
  readonly status: number;
  readonly clientId: string | undefined;
  readonly durationMs: number;
}

/** The events of an {@link AuthorizationServer}. */
export interface ServerEvents {
  revoked: RevokedEvent;
  error: ErrorEvent;
  response: ResponseEvent;
}

/**
 * A small typed emitter; a listener that throws is isolated from the request.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<(event: never) => void>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(name: K, listener: (event: Events[K]) => void): () => void {
    let set = this.#listeners.get(name);
    if (!set) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as (event: never) => void);
    return () => set.delete(listener as (event: never) => void);
  }

  /** Whether anyone listens: lets the hot path skip building an event. */
  listens(name: keyof Events): boolean {
    return (this.#listeners.get(name)?.size ?? 0) > 0;
  }

  emit<K extends keyof Events>(name: K, event: Events[K]): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const listener of set) {
      try {
        (listener as (event: Events[K]) => void)(event);
      } catch {
        // A listener's failure must not change the answer the client gets.
      }
    }
  }
}
