// Package agentsvc will hold the agent pipeline as a library: the LLM client (go-openai against
// OpenRouter), the typed agent contracts, the graph, and the deterministic planning code (slots,
// conflicts, RRULE expansion, pattern statistics). It arrives with the agent milestone; the
// listener imports it, never the other way round (see DESIGN.md).
package agentsvc
