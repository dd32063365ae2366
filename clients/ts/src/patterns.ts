// docs/api.md: Tables (patterns), override_pattern.
import type { FluxClient, Pattern, PatternUpdate } from './client.ts'
import { unwrap } from './errors.ts'

export async function listPatterns(supabase: FluxClient): Promise<Pattern[]> {
  return unwrap(await supabase.from('patterns').select('*').order('confidence', { ascending: false }))
}

// description, confidence or data (data is replaced); marks the pattern user_overridden.
export async function updatePattern(supabase: FluxClient, patternId: string, patch: PatternUpdate): Promise<void> {
  unwrap(await supabase.from('patterns').update(patch).eq('id', patternId))
}

export async function deletePattern(supabase: FluxClient, patternId: string): Promise<void> {
  unwrap(await supabase.from('patterns').delete().eq('id', patternId))
}

// Sets confidence (0-1) and/or description (left out: kept) and marks the pattern
// user_overridden, so the Pattern Observer never rewrites it.
export async function overridePattern(
  supabase: FluxClient, patternId: string, change: { confidence?: number; description?: string },
): Promise<Pattern> {
  return unwrap(await supabase.rpc('override_pattern', {
    p_pattern_id: patternId, p_confidence: change.confidence, p_description: change.description,
  }))
}
