// docs/api.md: Tables (tasks, notification_log, dispatch_log), Realtime, the task RPCs:
// today_tasks, complete_task, mark_missed, respond_to_reminder (and snooze), propose_reschedule,
// confirm_reschedule, simulate_location_trigger; and the reminder push's payload (Web Push).
import type { PostgrestError } from '@supabase/supabase-js'
import type {
  DeliveryStatus, Dispatch, FluxClient, Json, NotificationLogEntry, Task, TaskInsert, TaskStatus, TaskUpdate,
} from './client.ts'
import { FluxError, unwrap } from './errors.ts'
import { arr, bool, obj, str, strOrNull } from './json.ts'

// location_trigger {place, event}; also simulate_location_trigger's p_event (text, checked by the
// database: 22023 for anything else).
export type LocationEvent = 'arrive' | 'leave'
export type LocationTrigger = { place: string; event: LocationEvent }

// A time task needs scheduled_at; a location task needs location_trigger, and only it may have one.
export type NewTask =
  | (Omit<TaskInsert, 'trigger_type' | 'location_trigger'> & { trigger_type?: 'time'; scheduled_at: string })
  | (Omit<TaskInsert, 'trigger_type' | 'location_trigger' | 'scheduled_at'> & {
      trigger_type: 'location'; location_trigger: LocationTrigger })

// ---- the tasks table ----

export async function listTasks(supabase: FluxClient, filter: { status?: TaskStatus; goalId?: string } = {}): Promise<Task[]> {
  let query = supabase.from('tasks').select('*')
  if (filter.status !== undefined) query = query.eq('status', filter.status)
  if (filter.goalId !== undefined) query = query.eq('goal_id', filter.goalId)
  return unwrap(await query.order('scheduled_at'))
}

// One row: a recurrence_rule is stored, its other occurrences are not created (chat does that).
export async function createTask(supabase: FluxClient, task: NewTask): Promise<Task> {
  const row: TaskInsert = task
  return unwrap(await supabase.from('tasks').insert(row).select().single())
}

export async function createExampleTasks(supabase: FluxClient): Promise<Task[]> {
  const call = await createTask(supabase, { title: 'Call mom', scheduled_at: '2026-03-04T17:00:00Z' })
  const bins = await createTask(supabase, {
    title: 'Take the bins out', trigger_type: 'location',
    location_trigger: { place: 'home', event: 'leave' },
  })
  return [call, bins]
}

// Only title, description and duration_minutes: status and schedule go through the RPCs.
export async function updateTask(supabase: FluxClient, taskId: string, patch: TaskUpdate): Promise<void> {
  unwrap(await supabase.from('tasks').update(patch).eq('id', taskId))
}

export async function deleteTask(supabase: FluxClient, taskId: string): Promise<void> {
  unwrap(await supabase.from('tasks').delete().eq('id', taskId))
}

// ---- notification_log and dispatch_log (read-only) ----

export async function listNotifications(supabase: FluxClient, taskId: string): Promise<NotificationLogEntry[]> {
  return unwrap(await supabase.from('notification_log').select('*')
    .eq('task_id', taskId).order('sent_at', { ascending: false }))
}

// A task's reminders with what became of them: the channel and when it went out, what Twilio
// last reported about a WhatsApp or call (delivery_status, and its error code when it failed),
// the answer, and `problem`, why it did not reach the person (null when it did, while it is on
// its way, and for a push, which has no delivery report). Newest first.
export type NotificationDelivery = Pick<
  NotificationLogEntry,
  'id' | 'channel' | 'sent_at' | 'response' | 'responded_at' | 'delivery_status' | 'delivery_error_code' | 'delivery_updated_at'
> & { problem: string | null }

export async function listNotificationDeliveries(supabase: FluxClient, taskId: string): Promise<NotificationDelivery[]> {
  const rows = unwrap(await supabase.from('notification_log')
    .select('id, channel, sent_at, response, responded_at, delivery_status, delivery_error_code, delivery_updated_at')
    .eq('task_id', taskId).order('sent_at', { ascending: false }))
  return rows.map((n) => ({ ...n, problem: deliveryProblem(n) }))
}

// Why a WhatsApp message or call did not reach the person, from Twilio's status and error code;
// null when it did or may still. Every status is listed: a new one fails the typecheck here.
export function deliveryProblem(
  n: Pick<NotificationLogEntry, 'channel' | 'delivery_status' | 'delivery_error_code'>,
): string | null {
  const status: DeliveryStatus | null = n.delivery_status
  const code = n.delivery_error_code
  const because = code === null ? '' : `: ${twilioErrors[code] ?? 'Twilio error'} (${code})`
  switch (status) {
    case null: case 'queued': case 'initiated': case 'ringing': case 'sent': case 'in-progress':
    case 'delivered': case 'read': case 'completed':
      return null
    case 'undelivered':
      return `WhatsApp did not deliver the reminder${because}.`
    case 'failed':
      return n.channel === 'call' ? `The reminder call could not be made${because}.` : `The WhatsApp reminder failed${because}.`
    case 'busy':
      return 'The line was busy when the reminder called.'
    case 'no-answer':
      return 'Nobody answered the reminder call.'
    case 'canceled':
      return `The reminder ${n.channel === 'call' ? 'call' : 'message'} was canceled${because}.`
  }
}

// Titles of the Twilio error codes a reminder typically fails with; others show as their number.
const twilioErrors: { [code: number]: string | undefined } = {
  30003: 'unreachable handset',
  30005: 'unknown handset',
  30006: 'landline or unreachable carrier',
  30007: 'message filtered',
  30008: 'unknown error',
  63016: "outside WhatsApp's 24-hour window, and no template was used",
  63024: 'invalid WhatsApp recipient',
  63028: 'template parameters do not match',
}

export type DispatchSummary = Pick<Dispatch, 'channel' | 'status' | 'due_at' | 'dispatched_at' | 'error'>

export async function listDispatches(supabase: FluxClient, taskId: string): Promise<DispatchSummary[]> {
  return unwrap(await supabase.from('dispatch_log').select('channel, status, due_at, dispatched_at, error')
    .eq('task_id', taskId).order('id'))
}

// ---- Realtime ----

// Tasks and goals written by a plan, auto-missed or moved: refresh what shows them.
export function watchTasksAndGoals(supabase: FluxClient, refresh: () => void): () => void {
  const channel = supabase.channel('tasks-and-goals')
    .on('postgres_changes', { event: '*', schema: 'public', table: 'tasks' }, () => refresh())
    .on('postgres_changes', { event: '*', schema: 'public', table: 'goals' }, () => refresh())
    .subscribe()
  return () => void supabase.removeChannel(channel)
}

// ---- RPC functions ----

// Pending tasks due during the user's local day, by time, then pending location tasks that have
// not fired yet. Accepts PostgREST filters, e.g. one goal's.
export async function todayTasks(supabase: FluxClient, goalId?: string): Promise<Task[]> {
  const query = supabase.rpc('today_tasks')
  return unwrap(await (goalId === undefined ? query : query.eq('goal_id', goalId)))
}

export async function completeTask(supabase: FluxClient, taskId: string): Promise<Task> {
  return unwrap(await supabase.rpc('complete_task', { p_task_id: taskId }))
}

export async function markMissed(supabase: FluxClient, taskId: string): Promise<Task> {
  return unwrap(await supabase.rpc('mark_missed', { p_task_id: taskId }))
}

// Branch on the code, not on the message text.
export async function completeFromList(
  supabase: FluxClient, id: string, ui: { showToast(text: string): void; removeFromList(id: string): void },
): Promise<Task | null> {
  try {
    return await completeTask(supabase, id)
  } catch (e) {
    if (!(e instanceof FluxError)) throw e
    if (e.code === 'PT409') ui.showToast(e.hint ?? e.message) // already done or missed
    else if (e.code === 'PT404') ui.removeFromList(id) // gone
    else throw e
    return null
  }
}

// p_response is text in SQL, checked by the function (22023 otherwise): these are the values it
// accepts. Not the reminder_response enum, which records the answer ('acknowledge' is stored as
// 'acknowledged', 'snooze' as 'snoozed', silence as 'no_response').
export type ReminderAnswer = 'done' | 'missed' | 'reschedule' | 'snooze' | 'acknowledge'

// How often one reminder may be snoozed (tasks.snooze_count counts them).
export const MAX_SNOOZES = 3

export function snoozesLeft(task: Pick<Task, 'snooze_count'>): number {
  return Math.max(0, MAX_SNOOZES - task.snooze_count)
}

// A snooze past the third: PT409 (HTTP 409), and nothing changed. Offer done, reschedule or
// missed instead; e.code is still 'PT409', e.hint the database's.
export class SnoozeLimitError extends FluxError {
  override readonly name: string = 'SnoozeLimitError'

  constructor(error: PostgrestError, status: number) {
    super({
      code: error.code, status, details: error.details, hint: error.hint,
      message: `This reminder was snoozed ${MAX_SNOOZES} times already: answer done, reschedule or missed.`,
    })
  }
}

// snooze: reminded again in the user's snooze_minutes (the task is due then, unless it is due
// later anyway); SnoozeLimitError after the third. 'not_pending': the task was settled already.
export async function respondToReminder(
  supabase: FluxClient, taskId: string, answer: ReminderAnswer,
): Promise<'recorded' | 'not_pending'> {
  const { data, error, status } = await supabase.rpc('respond_to_reminder', { p_task_id: taskId, p_response: answer })
  if (error?.code === 'PT409' && answer === 'snooze') throw new SnoozeLimitError(error, status)
  if (error) throw FluxError.fromPostgrest(error, status)
  if (data === 'recorded' || data === 'not_pending') return data
  throw new TypeError(`respond_to_reminder: unexpected result ${JSON.stringify(data)}`)
}

// The notification's Snooze button: true when snoozed; at the limit, says so and returns false
// (show the other answers).
export async function snoozeReminder(
  supabase: FluxClient, taskId: string, ui: { showToast(text: string): void },
): Promise<boolean> {
  try {
    return (await respondToReminder(supabase, taskId, 'snooze')) === 'recorded'
  } catch (e) {
    if (!(e instanceof SnoozeLimitError)) throw e
    ui.showToast(e.message)
    return false
  }
}

// ---- The reminder push (Web Push) ----

// The buttons a reminder push offers, in the order to show them: snooze while the reminder may
// still be snoozed.
export type ReminderAction = Exclude<ReminderAnswer, 'acknowledge'>

// The JSON a service worker receives in its push event.
export type ReminderPush = {
  task_id: string
  title: string
  body: string // "Due 17:00", local time
  due_at: string
  actions: ReminderAction[]
}

const reminderActions: readonly ReminderAction[] = ['done', 'snooze', 'reschedule', 'missed']

export function readReminderPush(j: Json): ReminderPush {
  const p = obj(j, 'reminder push')
  return {
    task_id: str(p.task_id, 'task_id'),
    title: str(p.title, 'title'),
    body: str(p.body, 'body'),
    due_at: str(p.due_at, 'due_at'),
    actions: arr(p.actions, 'actions').map((a) => {
      const action = reminderActions.find((r) => r === a)
      if (action === undefined) throw new TypeError(`actions[]: unknown action ${JSON.stringify(a)}`)
      return action
    }),
  }
}

// notificationclick: a button answers with its action, a tap on the notification itself
// acknowledges (the ladder stops, the task stays pending).
export async function answerReminderClick(
  supabase: FluxClient, push: ReminderPush, action: string,
): Promise<'recorded' | 'not_pending'> {
  const answer: ReminderAnswer = push.actions.find((a) => a === action) ?? 'acknowledge'
  return respondToReminder(supabase, push.task_id, answer)
}

export type RescheduleProposal = {
  task_id: string
  requested_at: string | null
  proposed_at: string | null // null: no room left that day
  conflict: boolean
  conflicts: { task_id: string; title: string; scheduled_at: string }[]
}

// Step one: where the task could go. Changes nothing.
export async function proposeReschedule(supabase: FluxClient, taskId: string, at?: string): Promise<RescheduleProposal> {
  return readProposal(unwrap(await supabase.rpc('propose_reschedule', { p_task_id: taskId, p_at: at })))
}

// Step two: move the task there, with a fresh reminder ladder. It does not check for conflicts.
export async function confirmReschedule(supabase: FluxClient, taskId: string, at: string): Promise<Task> {
  return unwrap(await supabase.rpc('confirm_reschedule', { p_task_id: taskId, p_at: at }))
}

// Both steps (an app would show the proposal and its conflicts first). null: no room that day.
export async function rescheduleToFreeSlot(supabase: FluxClient, taskId: string, at?: string): Promise<Task | null> {
  const proposal = await proposeReschedule(supabase, taskId, at)
  if (proposal.proposed_at === null) return null
  return confirmReschedule(supabase, taskId, proposal.proposed_at)
}

// The demo's "left home": fires the matching pending location tasks and returns them.
export async function simulateLocationTrigger(
  supabase: FluxClient, place: string, event: LocationEvent = 'leave',
): Promise<Task[]> {
  return unwrap(await supabase.rpc('simulate_location_trigger', { p_place: place, p_event: event }))
}

function readProposal(j: Json): RescheduleProposal {
  const p = obj(j, 'propose_reschedule')
  return {
    task_id: str(p.task_id, 'task_id'),
    requested_at: strOrNull(p.requested_at, 'requested_at'),
    proposed_at: strOrNull(p.proposed_at, 'proposed_at'),
    conflict: bool(p.conflict, 'conflict'),
    conflicts: arr(p.conflicts, 'conflicts').map((c) => {
      const o = obj(c, 'conflicts[]')
      return { task_id: str(o.task_id, 'task_id'), title: str(o.title, 'title'), scheduled_at: str(o.scheduled_at, 'scheduled_at') }
    }),
  }
}
