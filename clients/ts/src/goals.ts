// docs/api.md: Tables (goals), abandon_goal, approve_plan (in chat.ts).
import type { FluxClient, Goal, GoalInsert, GoalStatus, GoalUpdate, Json } from './client.ts'
import { unwrap } from './errors.ts'
import { arr, num, obj, str } from './json.ts'

// class_tags is text[] in SQL, checked against this list (at most 3).
export type GoalCategory =
  | 'Health' | 'Fitness' | 'Nutrition' | 'Mental Health' | 'Career' | 'Learning' | 'Financial'
  | 'Relationships' | 'Creativity' | 'Productivity' | 'Spirituality' | 'Home' | 'Travel' | 'Other'

export type NewGoal = Omit<GoalInsert, 'class_tags'> & { class_tags?: GoalCategory[] }

// Top-level goals (umbrella or single) with a status, e.g. the active ones.
export async function listGoals(supabase: FluxClient, status: GoalStatus = 'active'): Promise<Goal[]> {
  return unwrap(await supabase.from('goals').select('*')
    .eq('status', status).is('parent_goal_id', null))
}

// A goal and its micro-goals, the goal first, then its pipeline in order.
export async function goalWithPipeline(supabase: FluxClient, goalId: string): Promise<Goal[]> {
  return unwrap(await supabase.from('goals').select('*')
    .or(`id.eq.${goalId},parent_goal_id.eq.${goalId}`)
    .order('pipeline_order', { ascending: true, nullsFirst: true }))
}

// An active goal without a plan or tasks (goals normally come from chat). 23514 when 3 are active.
export async function createGoal(supabase: FluxClient, goal: NewGoal): Promise<Goal> {
  return unwrap(await supabase.from('goals').insert(goal).select().single())
}

// Only title and description; status changes go through abandon_goal and the sprint rule.
export async function updateGoal(supabase: FluxClient, goalId: string, patch: GoalUpdate): Promise<void> {
  unwrap(await supabase.from('goals').update(patch).eq('id', goalId))
}

export type AbandonResult = {
  goal_id: string
  abandoned_goals: string[]
  cancelled_tasks: number
  kept_shared_tasks: number
}

// Abandons an active or pipeline goal and its waiting micro-goals; cancels their pending tasks
// except those shared with another active goal. PT409 when already completed or abandoned.
export async function abandonGoal(supabase: FluxClient, goalId: string): Promise<AbandonResult> {
  return readAbandonResult(unwrap(await supabase.rpc('abandon_goal', { p_goal_id: goalId })))
}

function readAbandonResult(j: Json): AbandonResult {
  const r = obj(j, 'abandon_goal')
  return {
    goal_id: str(r.goal_id, 'goal_id'),
    abandoned_goals: arr(r.abandoned_goals, 'abandoned_goals').map((id) => str(id, 'abandoned_goals[]')),
    cancelled_tasks: num(r.cancelled_tasks, 'cancelled_tasks'),
    kept_shared_tasks: num(r.kept_shared_tasks, 'kept_shared_tasks'),
  }
}
