// docs/api.md: Listener endpoints (/v1: phone verification, Web Push, GDPR), and the
// push_subscriptions table. The listener verifies the user's Supabase access token itself.
import type { FluxClient, Json, PushSubscriptionRow } from './client.ts'
import { FluxError, unwrap } from './errors.ts'
import { bool, obj, str, type JsonObject } from './json.ts'

// baseUrl: the listener's FLUX_PUBLIC_BASE_URL, e.g. https://flux.example.com
export type Listener = { supabase: FluxClient; baseUrl: string }

// A /v1 call with the session's access token. Any status but 2xx throws a FluxError with the
// listener's {code, message}, the status, the raw body and Retry-After.
export async function flux(listener: Listener, path: string, init: RequestInit = {}): Promise<Response> {
  const { data: { session } } = await listener.supabase.auth.getSession()
  if (session === null) throw new FluxError({ code: 'unauthorized', message: 'Sign in first.', status: 401 })
  const headers = new Headers(init.headers)
  headers.set('Authorization', `Bearer ${session.access_token}`)
  if (init.body !== undefined) headers.set('Content-Type', 'application/json')
  return check(await fetch(`${listener.baseUrl}${path}`, { ...init, headers }))
}

async function check(r: Response): Promise<Response> {
  if (r.ok) return r
  const body = await r.text()
  let code = `http_${r.status}`
  let message = body
  try {
    const j: Json = JSON.parse(body) // JSON.parse yields JSON values only
    if (typeof j === 'object' && j !== null && !Array.isArray(j)) {
      if (typeof j.code === 'string') code = j.code
      if (typeof j.message === 'string') message = j.message
    }
  } catch {
    // not JSON (a proxy's error page, say): keep the text
  }
  const retryAfter = r.headers.get('Retry-After')
  throw new FluxError({ code, message, status: r.status, body, retryAfterSeconds: retryAfter === null ? null : Number(retryAfter) })
}

async function jsonBody(r: Response): Promise<JsonObject> {
  const j: Json = await r.json() // Response.json yields JSON values only
  return obj(j, `listener ${r.url}`)
}

// ---- Phone verification (Twilio Verify) ----

export type VerificationChannel = 'sms' | 'call' | 'whatsapp'

// POST /v1/phone/verification: 202 {status: "pending", channel}. 3 sends an hour.
export async function startPhoneVerification(
  listener: Listener, phoneNumber: string, channel: VerificationChannel = 'sms',
): Promise<void> {
  await flux(listener, '/v1/phone/verification', {
    method: 'POST', body: JSON.stringify({ phone_number: phoneNumber, channel }),
  })
}

// POST /v1/phone/verification/check: 200 {phone_verified: true}; the number is then the user's,
// verified. phoneNumber, when given, must be the number the code went to (409 number_mismatch).
export async function checkPhoneVerification(listener: Listener, code: string, phoneNumber?: string): Promise<boolean> {
  const body = phoneNumber === undefined ? { code } : { code, phone_number: phoneNumber }
  const r = await flux(listener, '/v1/phone/verification/check', { method: 'POST', body: JSON.stringify(body) })
  return bool((await jsonBody(r)).phone_verified, 'phone_verified')
}

// ---- Web Push ----

// GET /v1/push/vapid-public-key, no token needed; 503 push_unavailable when not configured.
export async function vapidPublicKey(baseUrl: string): Promise<string> {
  const r = await check(await fetch(`${baseUrl}/v1/push/vapid-public-key`))
  return str((await jsonBody(r)).public_key, 'public_key')
}

// POST /v1/push/subscriptions with the browser's PushSubscription.toJSON(): 201 {id} when new,
// 200 {id} when the endpoint was stored already (it moves to this user).
export async function savePushSubscription(
  listener: Listener, subscription: PushSubscriptionJSON,
): Promise<{ id: string; created: boolean }> {
  const r = await flux(listener, '/v1/push/subscriptions', { method: 'POST', body: JSON.stringify(subscription) })
  return { id: str((await jsonBody(r)).id, 'id'), created: r.status === 201 }
}

// Subscribe this browser: the VAPID key, the browser's subscription, then the listener.
export async function enablePush(listener: Listener, registration: ServiceWorkerRegistration) {
  const publicKey = await vapidPublicKey(listener.baseUrl)
  const sub = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: publicKey })
  return savePushSubscription(listener, sub.toJSON())
}

// DELETE /v1/push/subscriptions {endpoint}: 204; 404 no_subscription.
export async function deletePushSubscription(listener: Listener, endpoint: string): Promise<void> {
  await flux(listener, '/v1/push/subscriptions', { method: 'DELETE', body: JSON.stringify({ endpoint }) })
}

// The same through the table (no rate limit).
export async function deletePushSubscriptionRow(supabase: FluxClient, endpoint: string): Promise<void> {
  unwrap(await supabase.from('push_subscriptions').delete().eq('endpoint', endpoint))
}

export async function listPushSubscriptions(supabase: FluxClient): Promise<PushSubscriptionRow[]> {
  return unwrap(await supabase.from('push_subscriptions').select('*').order('created_at'))
}

// ---- GDPR ----

// GET /v1/account/export: a ZIP of JSON files, one per table, plus manifest.json.
export async function exportAccount(listener: Listener): Promise<{ zip: Blob; filename: string }> {
  const r = await flux(listener, '/v1/account/export')
  const filename = /filename="([^"]+)"/.exec(r.headers.get('Content-Disposition') ?? '')?.[1] ?? 'flux-export.zip'
  return { zip: await r.blob(), filename }
}

// DELETE /v1/account: every row, the agent state and the auth user. 204, also when already
// erased (safe to retry); then sign out.
export async function eraseAccount(listener: Listener): Promise<void> {
  await flux(listener, '/v1/account', { method: 'DELETE' })
  await listener.supabase.auth.signOut()
}
