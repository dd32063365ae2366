// docs/api.md: Tables (conversations, messages), Realtime, Chat, approve_plan.
import type { AgentStatus, ContextType, Conversation, FluxClient, Message, MessageInsert } from './client.ts'
import { FluxError, unwrap } from './errors.ts'

export async function createConversation(supabase: FluxClient, contextType: ContextType = 'general'): Promise<Conversation> {
  return unwrap(await supabase.from('conversations').insert({ context_type: contextType }).select().single())
}

export async function listConversations(supabase: FluxClient): Promise<Conversation[]> {
  return unwrap(await supabase.from('conversations').select('*')
    .order('last_message_at', { ascending: false, nullsFirst: false }))
}

export async function getConversation(supabase: FluxClient, conversationId: string): Promise<Conversation> {
  return unwrap(await supabase.from('conversations').select('*').eq('id', conversationId).single())
}

// Removes its messages and agent state too.
export async function deleteConversation(supabase: FluxClient, conversationId: string): Promise<void> {
  unwrap(await supabase.from('conversations').delete().eq('id', conversationId))
}

// The id is chosen here: a resend with the same id after a lost response fails with 23505
// instead of asking the agents twice, and the Realtime echo of the message carries it.
export async function sendMessage(
  supabase: FluxClient, conversationId: string, content: string, id: string = crypto.randomUUID(),
): Promise<string> {
  const message: MessageInsert = { id, conversation_id: conversationId, content }
  const { error, status } = await supabase.from('messages').insert(message)
  if (error?.code === '23505') return id // the first attempt arrived: nothing to do
  if (error) throw FluxError.fromPostgrest(error, status) // 'rate_limited' (429): error.hint says how long
  return id
}

// History, newest first, `limit` at a time; the next page with before = the oldest created_at.
export async function listMessages(
  supabase: FluxClient, conversationId: string, page: { before?: string; limit?: number } = {},
): Promise<Message[]> {
  let query = supabase.from('messages').select('*').eq('conversation_id', conversationId)
  if (page.before !== undefined) query = query.lt('created_at', page.before)
  return unwrap(await query.order('created_at', { ascending: false }).limit(page.limit ?? 50))
}

// The Approve button under a `plan` message: inserts the "Approve the plan" user message and
// returns its id; the plan_approved (or notice) reply follows through Realtime.
export async function approvePlan(supabase: FluxClient, conversationId: string): Promise<string> {
  return unwrap(await supabase.rpc('approve_plan', { p_conversation_id: conversationId }))
}

// The raw Realtime subscription of one conversation: its new messages (the user's own included)
// and its agent_status. watchConversation below adds the history and the de-duplication.
export function subscribeToConversation(
  supabase: FluxClient,
  conversationId: string,
  on: { message(m: Message): void; conversation(c: Conversation): void; status(s: string, err?: Error): void },
) {
  return supabase.channel(`conversation:${conversationId}`)
    .on<Message>('postgres_changes',
      { event: 'INSERT', schema: 'public', table: 'messages', filter: `conversation_id=eq.${conversationId}` },
      ({ new: m }) => on.message(m))
    .on<Conversation>('postgres_changes',
      { event: 'UPDATE', schema: 'public', table: 'conversations', filter: `id=eq.${conversationId}` },
      ({ new: c }) => on.conversation(c))
    .subscribe((status, err) => on.status(status, err))
}

export type ConversationView = {
  // every message known so far, in created_at order, without duplicates
  messages(all: Message[]): void
  // 'thinking' from a user message until its reply is written
  agentStatus(status: AgentStatus): void
  error?(e: Error): void
}

// Subscribe first, then read the history: events of the first moments of a subscription can be
// missed, and an event can also arrive for a row the read returns, so both are merged by id.
// Every (re)subscription reads the latest 50 again, which also covers a reconnect; older pages
// come from listMessages. Returns the unsubscribe.
export function watchConversation(supabase: FluxClient, conversationId: string, view: ConversationView): () => void {
  const byId = new Map<string, Message>()
  let current: Conversation | null = null
  let closed = false
  const addMessages = (ms: Message[]) => {
    for (const m of ms) byId.set(m.id, m)
    if (!closed) view.messages([...byId.values()].sort(byCreatedAt))
  }
  const setConversation = (c: Conversation) => {
    if (current !== null && micros(current.updated_at) > micros(c.updated_at)) return // older news
    current = c
    if (!closed) view.agentStatus(c.agent_status)
  }
  const fail = (e: unknown) => view.error?.(e instanceof Error ? e : new Error(String(e)))
  const readHistory = async () => {
    try {
      const [history, conversation] = await Promise.all([
        listMessages(supabase, conversationId), getConversation(supabase, conversationId)])
      addMessages(history)
      setConversation(conversation)
    } catch (e) {
      fail(e)
    }
  }
  const channel = subscribeToConversation(supabase, conversationId, {
    message: (m) => addMessages([m]),
    conversation: setConversation,
    status: (s, err) => {
      if (s === 'SUBSCRIBED') void readHistory()
      else if (s === 'CHANNEL_ERROR' || s === 'TIMED_OUT') fail(err ?? new Error(`realtime: ${s}`))
    },
  })
  return () => {
    closed = true
    void supabase.removeChannel(channel)
  }
}

// Create a conversation, watch it (replies and the thinking state), send the first message.
export async function startChat(supabase: FluxClient, text: string, view: ConversationView) {
  const conversation = await createConversation(supabase, 'general')
  const stop = watchConversation(supabase, conversation.id, view)
  try {
    const messageId = await sendMessage(supabase, conversation.id, text)
    return { conversation, messageId, stop }
  } catch (e) {
    stop()
    throw e // a FluxError; 'rate_limited' (429) carries retryAfterSeconds
  }
}

// Timestamps to microseconds: PostgREST and Realtime may format them differently, and
// Date.parse stops at milliseconds. Ties (one transaction) fall back to the id.
function micros(ts: string): number {
  const fraction = /\.(\d+)/.exec(ts)?.[1] ?? ''
  return Date.parse(ts) * 1000 + Number(fraction.padEnd(6, '0').slice(3, 6))
}

function byCreatedAt(a: Message, b: Message): number {
  return micros(a.created_at) - micros(b.created_at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}
