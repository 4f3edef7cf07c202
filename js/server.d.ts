// Types of @zivacare/connect/server: the exchange and the token endpoint, for
// Node and every runtime with the Fetch API.

/** The stable codes of ZivaCareError: the Rust crate `zivacare`'s `Error::code`. */
export type ZivaCareErrorCode =
  | "token_rejected" | "upstream_misconfigured" | "upstream_error" | "upstream_timeout"
  | "rate_limited" | "invalid_request" | "duplicate_user" | "invalid_config";

/** Every failure of this module. Its message and cause never hold a secret or a token. */
export declare class ZivaCareError extends Error {
  name: "ZivaCareError";
  code: ZivaCareErrorCode;
  /** ZivaCare's own code, such as "0011" or "used_token", where it gave one. */
  zivacareCode?: string;
  /** The HTTP status of ZivaCare's answer, where there was one. */
  status?: number;
  /** rate_limited: the seconds ZivaCare asked to wait, when it said. */
  retryAfter?: number;
}

/**
 * A user's connection. `accessToken` is readable but not enumerable: it is not
 * in `JSON.stringify(connection)`, a spread or `console.log(connection)`.
 */
export interface Connection {
  zivaUserCode: string;
  readonly accessToken: string;
  name: string;
  email: string;
}

export interface ExchangeOptions {
  specialToken: string;
  clientSecret: string;
  /** ZivaCare's developer host (the default, https://developer.zivacare.com), or the sandbox's URL. */
  baseUrl?: string;
  signal?: AbortSignal;
  /** Default 10,000. */
  timeoutMs?: number;
}

/** Exchanges a specialToken, once: never retried, no redirect followed. */
export declare function exchangeToken(options: ExchangeOptions): Promise<Connection>;

/** A claim on a specialToken, by its SHA-256 (the token itself is never handed to a ledger). */
export interface Claim {
  readonly tokenHash: string;
  readonly clientUserId: string;
  /** This claim's own id: complete, release and refuse act only while it holds the entry. */
  readonly id: string;
}

/** What claim() found. */
export type Claimed =
  | { status: "new" }
  /** A claim of the same user older than staleAfterMs was replaced by this one. */
  | { status: "taken_over" }
  | { status: "pending"; clientUserId: string }
  | { status: "exchanged"; clientUserId: string; zivaUserCode: string }
  | { status: "refused"; clientUserId: string };

/**
 * The record of exchanges that keeps one exchange per specialToken, however
 * often and on however many instances the SDK's forward arrives. Over a
 * database: claim is an insert of the token's hash (its primary key) that
 * reports the row it met; complete, release (delete) and refuse act only if
 * the row still holds this claim's id, and throw otherwise.
 */
export interface Ledger {
  claim(claim: Claim, staleAfterMs: number): Promise<Claimed>;
  complete(claim: Claim, outcome: { zivaUserCode: string }): Promise<void>;
  release(claim: Claim): Promise<void>;
  refuse(claim: Claim, why: string): Promise<void>;
}

/** A ledger in this process's memory: one process only (not several instances, not serverless). */
export declare function memoryLedger(): Ledger;

/** Who getUser found: an object with the clientUserId the page's button was given, or that id. */
export type SignedInUser = string | { clientUserId: string };

export interface TokenHandlerOptions<User extends SignedInUser = SignedInUser, Context = unknown> {
  clientId: string;
  clientSecret: string;
  /** Your page's origin (https://app.example.com), or a list of them: the Origin the forward must have. */
  appOrigin: string | string[];
  /** The signed-in user, from your session (never from the request's body); null if none. */
  getUser(request: Request, context: Context): User | null | undefined | Promise<User | null | undefined>;
  /** Stores the connection for the user (encrypt the accessToken at rest). Retried for up to 5 s if it throws. */
  save(user: User, connection: Connection, context: Context): void | Promise<void>;
  /** Default: memoryLedger(), for one process. */
  ledger?: Ledger;
  /** ZivaCare's developer host (the default), or the sandbox's URL. */
  baseUrl?: string;
  /** The exchange's timeout, ms; default 10,000. */
  timeoutMs?: number;
  /** Where the handler's log lines go (none holds a secret or a token); default the console. */
  log?(level: "info" | "warn" | "error", message: string): void;
}

/** The endpoint the SDK forwards its specialToken to, as a Fetch API handler. */
export declare function createTokenHandler<User extends SignedInUser = SignedInUser, Context = unknown>(
  options: TokenHandlerOptions<User, Context>
): (request: Request, context?: Context) => Promise<Response>;

export declare const ZIVACARE_URL: string;
export declare const DEFAULT_TIMEOUT_MS: number;
export declare const MAX_FORWARD_BODY: number;
export declare const CONNECT_HEADER: string;
