// docs/api.md: Signing in, Tables (users), set_whatsapp_opt_in. Phone verification is in listener.ts.
import { Constants } from '../../../supabase/types/database.ts'
import type { EscalationPolicy, FluxClient, Json, User, UserUpdate } from './client.ts'
import { unwrap } from './errors.ts'
import { num, obj, str } from './json.ts'

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

// "HH:MM" in the user's local time; start after end spans midnight, equal start and end: none.
export type QuietHours = { start: string; end: string }

export type NotificationPreferences = {
  reminder_lead_minutes: number // 0-1440
  escalation_window_minutes: number // 1-240
  escalation_policy: EscalationPolicy // for tasks created afterwards
  snooze_minutes: number // 1-240: a snoozed reminder comes back this much later
  // WhatsApp and call reminders that fall due in them are skipped (push is not), unless the task
  // itself is due in them. Left out (undefined): the profile's sleep_window.
  quiet_hours?: QuietHours
}

// Quiet hours set to none (equal start and end); undefined quiet_hours means the sleep window.
export const NO_QUIET_HOURS: QuietHours = { start: '00:00', end: '00:00' }

// The stored preferences, with the defaults for keys not set.
export function notificationPreferences(me: User): NotificationPreferences {
  const p = obj(me.notification_preferences, 'notification_preferences')
  const policy = Constants.public.Enums.escalation_policy.find((v) => v === p.escalation_policy)
  const prefs: NotificationPreferences = {
    reminder_lead_minutes: p.reminder_lead_minutes === undefined ? 10 : num(p.reminder_lead_minutes, 'reminder_lead_minutes'),
    escalation_window_minutes: p.escalation_window_minutes === undefined ? 2 : num(p.escalation_window_minutes, 'escalation_window_minutes'),
    escalation_policy: policy ?? 'full',
    snooze_minutes: p.snooze_minutes === undefined ? 10 : num(p.snooze_minutes, 'snooze_minutes'),
  }
  if (p.quiet_hours !== undefined) prefs.quiet_hours = readWindow(p.quiet_hours, 'quiet_hours')
  return prefs
}

// The quiet hours in effect: the preference, else the profile's sleep window; null when none.
export function quietHours(me: User): QuietHours | null {
  const set = notificationPreferences(me).quiet_hours
  const sleep = obj(me.profile, 'profile').sleep_window
  const hours = set ?? (sleep === undefined ? undefined : readWindow(sleep, 'profile.sleep_window'))
  return hours === undefined || hours.start === hours.end ? null : hours
}

function readWindow(j: Json | undefined, what: string): QuietHours {
  const w = obj(j, what)
  return { start: str(w.start, `${what}.start`), end: str(w.end, `${what}.end`) }
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

// Snooze for 15 minutes, and no WhatsApp or call between 22:00 and 07:00 (23514
// users_notification_preferences_check for a time that is not HH:MM or minutes out of range).
export async function exampleReminderPreferences(supabase: FluxClient): Promise<User> {
  const me = await getMe(supabase)
  return setNotificationPreferences(supabase, me, { snooze_minutes: 15, quiet_hours: { start: '22:00', end: '07:00' } })
}

// true: records the opt-in time (kept if already opted in) and returns it; PT409 without a
// verified phone. false: opts out and returns null.
export async function setWhatsappOptIn(supabase: FluxClient, optIn: boolean = true): Promise<string | null> {
  return unwrap(await supabase.rpc('set_whatsapp_opt_in', { p_opt_in: optIn }))
}

// Whether WhatsApp reminders reach the user. 'stopped': not opted in, and the person sent STOP on
// WhatsApp (whatsapp_opted_out_at; setWhatsappOptIn(true) turns them on again). A new phone
// number clears both.
export type WhatsappReminders = 'no_verified_phone' | 'on' | 'stopped' | 'off'

export function whatsappReminders(me: User): WhatsappReminders {
  if (!me.phone_verified) return 'no_verified_phone'
  if (me.whatsapp_opt_in_at !== null) return 'on'
  return me.whatsapp_opted_out_at === null ? 'off' : 'stopped'
}
