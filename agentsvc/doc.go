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
package agentsvc
