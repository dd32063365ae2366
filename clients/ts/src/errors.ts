import type { PostgrestError, PostgrestSingleResponse } from '@supabase/supabase-js'

// The codes docs/api.md lists (Errors, and the listener's bodies). Others can arrive too.
export type FluxErrorCode =
  // PostgREST: the SQLSTATE, or PostgREST's custom statuses
  | 'PT401' | '42501' | 'PT404' | 'PT409' | '22023' | '22P02' | '23514' | '23503' | '23505' | 'rate_limited'
  // the listener's /v1 endpoints
  | 'unauthorized' | 'invalid_body' | 'invalid_phone_number' | 'invalid_channel' | 'invalid_code'
  | 'wrong_code' | 'no_account' | 'no_pending_verification' | 'number_mismatch'
  | 'verification_unavailable' | 'push_unavailable' | 'invalid_subscription' | 'no_subscription'
  | 'internal'

// One error for both surfaces: a database error through PostgREST ({code, message, details, hint}
// and the HTTP status), or a listener answer ({code, message}, the status and the raw body).
export class FluxError extends Error {
  override readonly name: string = 'FluxError'
  readonly code: FluxErrorCode | (string & {})
  readonly status: number
  readonly details: string | null
  readonly hint: string | null
  readonly body: string | null
  // seconds to wait after a 429: the listener's Retry-After header, or PostgREST's hint
  // ("Retry after 24 seconds.", since supabase-js does not expose response headers)
  readonly retryAfterSeconds: number | null

  constructor(init: {
    code: string
    message: string
    status: number
    details?: string | null
    hint?: string | null
    body?: string | null
    retryAfterSeconds?: number | null
  }) {
    super(init.message)
    this.code = init.code
    this.status = init.status
    this.details = init.details ?? null
    this.hint = init.hint ?? null
    this.body = init.body ?? null
    this.retryAfterSeconds = init.retryAfterSeconds ?? retryAfterFromHint(this.hint)
  }

  static fromPostgrest(error: PostgrestError, status: number): FluxError {
    return new FluxError({ code: error.code, message: error.message, status, details: error.details, hint: error.hint })
  }
}

function retryAfterFromHint(hint: string | null): number | null {
  const m = hint?.match(/Retry after (\d+) seconds?/)
  return m?.[1] === undefined ? null : Number(m[1])
}

// The data of a supabase-js response, or its error as a FluxError.
export function unwrap<T>(res: PostgrestSingleResponse<T>): T {
  if (res.error) throw FluxError.fromPostgrest(res.error, res.status)
  return res.data
}
