// The client and the types every module shares. Everything below comes from the types Supabase's
// generator makes of the migrated schema (supabase/types/database.ts, rewritten by `make types`),
// so a renamed column or a changed enum breaks `npm run typecheck` here, and with it the samples
// in docs/api.md, which are taken from this directory.
import { createClient, type SupabaseClient } from '@supabase/supabase-js'
import type { Database, Enums, Tables, TablesInsert, TablesUpdate } from '../../../supabase/types/database.ts'

export type { Database, Json } from '../../../supabase/types/database.ts'

// tasks.escalation_policy is NOT NULL without a column default, so the generator makes it a
// required insert field; but a BEFORE INSERT trigger fills it from the user's
// notification_preferences, and the column is not granted to clients (setting it is 42501).
// FluxDatabase is the generated Database with exactly that one field optional; every other
// table, column, function and enum is the generated one.
type Public = Database['public']
type TasksTable = Public['Tables']['tasks']
export type FluxDatabase = {
  public: Omit<Public, 'Tables'> & {
    Tables: Omit<Public['Tables'], 'tasks'> & {
      tasks: Omit<TasksTable, 'Insert'> & {
        Insert: Omit<TasksTable['Insert'], 'escalation_policy'> &
          Partial<Pick<TasksTable['Insert'], 'escalation_policy'>>
      }
    }
  }
}

export type FluxClient = SupabaseClient<FluxDatabase>

// supabaseUrl and the anon (publishable) key of the project; the user's session does the rest.
export function createFluxClient(supabaseUrl: string, anonKey: string): FluxClient {
  return createClient<FluxDatabase>(supabaseUrl, anonKey)
}

// Rows as the API returns them.
export type User = Tables<'users'>
export type Goal = Tables<'goals'>
export type Task = Tables<'tasks'>
export type Conversation = Tables<'conversations'>
export type Message = Tables<'messages'>
export type Pattern = Tables<'patterns'>
export type NotificationLogEntry = Tables<'notification_log'>
export type Dispatch = Tables<'dispatch_log'>
export type PushSubscriptionRow = Tables<'push_subscriptions'>

// The enums of the schema.
export type TaskStatus = Enums<'task_status'>
export type GoalStatus = Enums<'goal_status'>
export type MessageRole = Enums<'message_role'>
export type ContextType = Enums<'context_type'>
export type AgentStatus = Enums<'agent_status'>
export type TriggerType = Enums<'trigger_type'>
export type EscalationPolicy = Enums<'escalation_policy'>
export type PatternType = Enums<'pattern_type'>
export type ReminderResponse = Enums<'reminder_response'>
export type NotificationChannel = Enums<'notification_channel'>
export type DeliveryStatus = Enums<'delivery_status'>

// What a client may write: the columns granted to `authenticated` (docs/api.md, Tables). user_id
// is left out everywhere: it defaults to auth.uid(), and any other value is refused.
export type GoalInsert = Pick<TablesInsert<'goals'>, 'title' | 'description' | 'class_tags' | 'target_weeks'>
export type GoalUpdate = Pick<TablesUpdate<'goals'>, 'title' | 'description'>
export type TaskInsert = Pick<
  TablesInsert<'tasks'>,
  'goal_id' | 'title' | 'description' | 'scheduled_at' | 'duration_minutes' | 'trigger_type' | 'location_trigger' | 'recurrence_rule'
>
export type TaskUpdate = Pick<TablesUpdate<'tasks'>, 'title' | 'description' | 'duration_minutes'>
export type MessageInsert = Pick<TablesInsert<'messages'>, 'id' | 'conversation_id' | 'content'>
// (whatsapp_window_until and whatsapp_opted_out_at, like phone_verified, are set by the service.)
export type UserUpdate = Pick<TablesUpdate<'users'>, 'timezone' | 'phone_number' | 'profile' | 'notification_preferences'>
export type PatternUpdate = Pick<TablesUpdate<'patterns'>, 'description' | 'confidence' | 'data'>
