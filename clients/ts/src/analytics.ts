// docs/api.md: Analytics. Days are the user's local days (users.timezone); total = pending +
// done + missed; percentages are rounded to 0.1 and null when total is 0. 30 calls a minute.
import type { Database, FluxClient, Json } from './client.ts'
import { unwrap } from './errors.ts'
import { arr, bool, num, numOrNull, obj, str } from './json.ts'

type Returns<F extends keyof Database['public']['Functions']> = Database['public']['Functions'][F]['Returns']
type Row<F extends keyof Database['public']['Functions']> = Returns<F> extends (infer R)[] ? R : never

// The generator types the columns of a function's result table as never null; these can be
// (percent when total is 0, parent_goal_id and pipeline_order of a top-level goal).
export type GoalProgress = Omit<Row<'analytics_goal_progress'>, 'parent_goal_id' | 'pipeline_order' | 'percent'> & {
  parent_goal_id: string | null
  pipeline_order: number | null
  percent: number | null
}
export type MissedByCategory = Omit<Row<'analytics_missed_by_category'>, 'missed_percent'> & { missed_percent: number | null }
export type WeeklyCompletion = Omit<Row<'analytics_weekly_completion'>, 'percent'> & { percent: number | null }

export type Overview = {
  timezone: string
  today: { date: string; done: number; total: number; percent: number | null }
  streak: { days: number; includes_today: boolean }
  heatmap: { date: string; done: number; total: number }[] // days with tasks, oldest first
}

// The dashboard's first screen over the last `days` (1-366, default 91).
export async function analyticsOverview(supabase: FluxClient, days?: number): Promise<Overview> {
  return readOverview(unwrap(await supabase.rpc('analytics_overview', { p_days: days })))
}

// One row per goal that is not abandoned; each umbrella (adding up its micro-goals) before them.
export async function analyticsGoalProgress(supabase: FluxClient): Promise<GoalProgress[]> {
  return unwrap(await supabase.rpc('analytics_goal_progress'))
}

// Per class tag, most missed first; standalone tasks have no category.
export async function analyticsMissedByCategory(supabase: FluxClient): Promise<MissedByCategory[]> {
  return unwrap(await supabase.rpc('analytics_missed_by_category'))
}

// The last `weeks` ISO weeks (1-104, default 12), oldest first, every week present.
export async function analyticsWeeklyCompletion(supabase: FluxClient, weeks?: number): Promise<WeeklyCompletion[]> {
  return unwrap(await supabase.rpc('analytics_weekly_completion', { p_weeks: weeks }))
}

function readOverview(j: Json): Overview {
  const o = obj(j, 'analytics_overview')
  const today = obj(o.today, 'today')
  const streak = obj(o.streak, 'streak')
  return {
    timezone: str(o.timezone, 'timezone'),
    today: { date: str(today.date, 'today.date'), done: num(today.done, 'today.done'),
      total: num(today.total, 'today.total'), percent: numOrNull(today.percent, 'today.percent') },
    streak: { days: num(streak.days, 'streak.days'), includes_today: bool(streak.includes_today, 'streak.includes_today') },
    heatmap: arr(o.heatmap, 'heatmap').map((h) => {
      const d = obj(h, 'heatmap[]')
      return { date: str(d.date, 'date'), done: num(d.done, 'done'), total: num(d.total, 'total') }
    }),
  }
}
