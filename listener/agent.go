package main

import (
	"log/slog"

	"github.com/flux-companion/flux/agentsvc/graph"
	"github.com/flux-companion/flux/agentsvc/llm"
)

// newAgent is the chat graph: model-backed through OpenRouter when OPENROUTER_API_KEY is set,
// otherwise the deterministic offline path (a newcomer's make dev).
func newAgent(getenv func(string) string, log *slog.Logger) *graph.Graph {
	g := &graph.Graph{Log: log}
	if key := getenv("OPENROUTER_API_KEY"); key != "" {
		g.LLM = llm.New(llm.Config{
			APIKey:  key,
			BaseURL: getenv("OPENROUTER_BASE_URL"),
			// OpenRouter's attribution headers: which app is calling.
			Referer: getenv("OPENROUTER_REFERER"),
			Title:   "Flux",
			Logger:  log,
		})
	}
	return g
}
