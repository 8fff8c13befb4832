// The one table of error codes (spec/errors.json is the source; a unit test proves this copy,
// the Python copy and the JSON file are identical). Users match on `err.code`.

export const ERROR_IDS = {
  LR_AUTH_FAILED: 1001,
  LR_AUTH_REQUIRED: 1002,
  LR_SECRET_REQUIRED: 1003,
  LR_INSECURE_SECRET: 1004,
  LR_THROTTLED: 1005,
  LR_VERSION_MISMATCH: 1101,
  LR_NOT_LONGREACH: 1102,
  LR_TLS_UNTRUSTED: 1201,
  LR_TLS_CHANGED: 1202,
  LR_TLS_MISMATCH: 1203,
  LR_TLS_FAILED: 1204,
  LR_REFUSED: 1301,
  LR_TIMEOUT: 1302,
  LR_UNREACHABLE: 1303,
  LR_CLOSED: 1304,
  LR_FRAME_TOO_LARGE: 1401,
  LR_BAD_FRAME: 1402,
  LR_BAD_MESSAGE: 1403,
  LR_ALREADY_ATTACHED: 1501,
  LR_BAD_REQUEST: 1502,
  LR_UNSUPPORTED: 1503,
  LR_INTERNAL: 1504,
  LR_NOT_STOPPED: 1505,
  LR_EVAL_FAILED: 1506,
  LR_NO_SUCH_PROCESS: 1507,
  LR_EVAL_BUDGET: 1508,
  LR_BAD_QUALIFIER: 1601,
  LR_BAD_OPTION: 1602,
  LR_ADDRESS_IN_USE: 1603,
  LR_ALREADY_ENABLED: 1604,
  LR_CERT: 1605,
  LR_INJECT_REFUSED: 1701,
  LR_INJECT_UNSUPPORTED: 1702,
  LR_INJECT_FAILED: 1703,
} as const;

export type ErrorCode = keyof typeof ERROR_IDS;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_IDS, value);
}

/** Every error Longreach raises on purpose. `message` says what happened and what to do next. */
export class LongreachError extends Error {
  readonly code: ErrorCode;
  readonly id: number;
  /** Extra machine-readable facts (e.g. a certificate's fingerprint); never secrets. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LongreachError';
    this.code = code;
    this.id = ERROR_IDS[code];
    this.details = options.details ?? {};
  }
}

/** The DAP error-response shape of docs/protocol.md section 9. */
export interface ErrorResponseBody {
  error: { id: number; format: string; showUser: boolean; code: ErrorCode; retryAfterMs?: number };
}

export function toErrorBody(err: LongreachError): ErrorResponseBody {
  const body: ErrorResponseBody = { error: { id: err.id, format: err.message, showUser: true, code: err.code } };
  // LR_THROTTLED says when to try again, for clients that wait out a short throttle (protocol section 4.5)
  if (typeof err.details.retryAfterMs === 'number') body.error.retryAfterMs = Math.ceil(err.details.retryAfterMs);
  return body;
}

/** Reads a DAP error response (ours or any DAP server's) back into a LongreachError. */
export function fromErrorResponse(
  response: { message?: string; body?: unknown },
  fallback: ErrorCode = 'LR_BAD_REQUEST',
): LongreachError {
  const error = (response.body as { error?: { format?: unknown; code?: unknown; retryAfterMs?: unknown } } | undefined)?.error;
  const code = isErrorCode(error?.code) ? error.code : isErrorCode(response.message) ? response.message : fallback;
  const text = typeof error?.format === 'string' ? error.format : (response.message ?? 'request failed');
  const retry = error?.retryAfterMs;
  if (typeof retry === 'number' && Number.isFinite(retry) && retry >= 0) return new LongreachError(code, text, { details: { retryAfterMs: retry } });
  return new LongreachError(code, text);
}
