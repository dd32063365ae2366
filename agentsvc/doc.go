// Package agentsvc holds the agent pipeline as a library: the LLM client (go-openai against
// OpenRouter), the typed agent contracts, the graph, and the deterministic planning code (slots,
// conflicts, RRULE expansion, pattern statistics). The listener imports it, never the other way
// round (see DESIGN.md).
//
// Subpackages:
//
//   - llm: the one model client: pinned models per role with fallbacks, timeouts, transport
//     retries, strict JSON decoding and validation with correction retries.
//   - llmfake: an OpenAI-compatible chat-completions server on loopback for tests and
//     `flux dev`, so the real client is exercised end to end.
//   - graph: answers one chat turn (the listener's runner writes it): onboarding, the
//     orchestrator and the agents it routes to, the summarizer, and the deterministic offline
//     path they fall back to. Prompts live in graph/prompts.
//   - onboarding: the eleven onboarding questions as a deterministic step machine.
//   - observe: the pattern observer's report (best times, slots to avoid, category
//     performance, cold-start rules) from task history and stored patterns.
//   - timeparse: natural time expressions ("tomorrow at 8", "every Monday at 7") in the user's
//     timezone, DST-correct.
//   - plan: the goal planner's typed contract, its validation and JSON schema, materialization
//     of a plan into task occurrences (rrule-go), and the offline template plans.
//   - slots: the slot finder and conflict detector; it never double-books.
package agentsvc
