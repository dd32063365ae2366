// docs/api.md: Signing in, Tables (users), set_whatsapp_opt_in. Phone verification is in listener.ts.
import { Constants } from '../../../supabase/types/database.ts'
import type { EscalationPolicy, FluxClient, Json, User, UserUpdate } from './client.ts'
import { unwrap } from './errors.ts'
import { num, obj } from './json.ts'

// Throws supabase-js's AuthError (with status and code) when the sign-up fails.
export async function signUp(supabase: FluxClient, email: string, password: string) {
  const { data, error } = await supabase.auth.signUp({
    email, password,
    options: { data: { timezone: Intl.DateTimeFormat().resolvedOptions().timeZone } },
  })
  if (error) throw error
  return data
}

export async function getMe(supabase: FluxClient): Promise<User> {
  return unwrap(await supabase.from('users').select('*').single())
}

// Only timezone, phone_number, profile and notification_preferences. A new phone_number clears
// phone_verified and the WhatsApp opt-in: prefer the verification endpoints (listener.ts).
export async function updateMe(supabase: FluxClient, userId: string, patch: UserUpdate): Promise<User> {
  return unwrap(await supabase.from('users').update(patch).eq('id', userId).select().single())
}

// An IANA name (23514 users_timezone_check otherwise); moves every task to its new local day.
export async function setTimezone(supabase: FluxClient, me: User, timezone: string): Promise<User> {
  return updateMe(supabase, me.id, { timezone })
}

// users.profile, at most 16 KB; the onboarding conversation fills it. Times are "HH:MM".
export type Profile = {
  name?: string
  chronotype?: 'morning' | 'evening' | 'neutral'
  sleep_window?: { start: string; end: string }
  work_hours?: { start: string; end: string; days?: string[] }
  existing_commitments?: Json[]
  locations?: { [label: string]: string }
  whatsapp_consent?: boolean
}

// An update replaces the whole object: this one keeps the keys it does not change.
export async function updateProfile(supabase: FluxClient, me: User, changes: Profile): Promise<User> {
  return updateMe(supabase, me.id, { profile: { ...obj(me.profile, 'profile'), ...changes } })
}

export type NotificationPreferences = {
  reminder_lead_minutes: number // 0-1440
  escalation_window_minutes: number // 1-240
  escalation_policy: EscalationPolicy // for tasks created afterwards
}

// The stored preferences, with the defaults for keys not set.
export function notificationPreferences(me: User): NotificationPreferences {
  const p = obj(me.notification_preferences, 'notification_preferences')
  const policy = Constants.public.Enums.escalation_policy.find((v) => v === p.escalation_policy)
  return {
    reminder_lead_minutes: p.reminder_lead_minutes === undefined ? 10 : num(p.reminder_lead_minutes, 'reminder_lead_minutes'),
    escalation_window_minutes: p.escalation_window_minutes === undefined ? 2 : num(p.escalation_window_minutes, 'escalation_window_minutes'),
    escalation_policy: policy ?? 'full',
  }
}

// The update replaces the whole object, so send every key. A new lead or window moves the open
// reminders of pending tasks at once.
export async function setNotificationPreferences(
  supabase: FluxClient, me: User, changes: Partial<NotificationPreferences>,
): Promise<User> {
  return updateMe(supabase, me.id, { notification_preferences: { ...notificationPreferences(me), ...changes } })
}

// examples of the users row
export async function exampleProfileChanges(supabase: FluxClient): Promise<User> {
  const me = await getMe(supabase)
  await setTimezone(supabase, me, 'Europe/Berlin')
  return setNotificationPreferences(supabase, me, { reminder_lead_minutes: 15 })
}

// true: records the opt-in time (kept if already opted in) and returns it; PT409 without a
// verified phone. false: opts out and returns null.
export async function setWhatsappOptIn(supabase: FluxClient, optIn: boolean = true): Promise<string | null> {
  return unwrap(await supabase.rpc('set_whatsapp_opt_in', { p_opt_in: optIn }))
}
