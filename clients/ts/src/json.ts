// Readers for the jsonb some functions return (propose_reschedule, abandon_goal,
// analytics_overview) and for the jsonb columns of users: the generated types can only say
// `Json` there, so the shape is checked at run time instead of being asserted.
import type { Json } from './client.ts'

export type JsonObject = { [key: string]: Json | undefined }

function fail(what: string, expected: string, got: Json | undefined): never {
  throw new TypeError(`${what}: expected ${expected}, got ${JSON.stringify(got)}`)
}

export function obj(j: Json | undefined, what: string): JsonObject {
  return typeof j === 'object' && j !== null && !Array.isArray(j) ? j : fail(what, 'an object', j)
}

export function arr(j: Json | undefined, what: string): Json[] {
  return Array.isArray(j) ? j : fail(what, 'an array', j)
}

export function str(j: Json | undefined, what: string): string {
  return typeof j === 'string' ? j : fail(what, 'a string', j)
}

export function strOrNull(j: Json | undefined, what: string): string | null {
  return j === null || j === undefined ? null : str(j, what)
}

export function num(j: Json | undefined, what: string): number {
  return typeof j === 'number' ? j : fail(what, 'a number', j)
}

export function numOrNull(j: Json | undefined, what: string): number | null {
  return j === null || j === undefined ? null : num(j, what)
}

export function bool(j: Json | undefined, what: string): boolean {
  return typeof j === 'boolean' ? j : fail(what, 'a boolean', j)
}
