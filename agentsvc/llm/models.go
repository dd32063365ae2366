package llm

import "fmt"

// Pinned OpenRouter model ids. Never "latest" aliases: a silent model change
// would change every agent's behaviour at once.
const (
	ModelGPT4o         = "openai/gpt-4o"
	ModelGPT4oMini     = "openai/gpt-4o-mini"
	ModelClaudeSonnet4 = "anthropic/claude-sonnet-4"
	ModelClaudeHaiku45 = "anthropic/claude-haiku-4.5"
)

// Role is the agent a call is made for; it picks the models and max_tokens.
type Role string

// The agents that call a model.
const (
	Orchestrator    Role = "orchestrator"
	Planner         Role = "planner"
	Classifier      Role = "classifier"
	Scheduler       Role = "scheduler"
	PatternObserver Role = "pattern_observer"
	Summarizer      Role = "summarizer"
)

// Route is where a role's calls go.
type Route struct {
	Primary, Fallback string
	MaxTokens         int
}

var routes = map[Role]Route{
	Orchestrator:    {ModelGPT4o, ModelClaudeSonnet4, 512},
	Planner:         {ModelClaudeSonnet4, ModelGPT4o, 4096},
	Classifier:      {ModelGPT4oMini, ModelClaudeHaiku45, 128},
	Scheduler:       {ModelGPT4oMini, ModelClaudeHaiku45, 1024},
	PatternObserver: {ModelGPT4oMini, ModelClaudeHaiku45, 1024},
	Summarizer:      {ModelGPT4oMini, ModelClaudeHaiku45, 500},
}

// RouteFor returns the models and max_tokens for role. small is the cost
// downgrade past the hard monthly token limit: orchestrator and planner move
// to the small model family (the other roles are already on it) and keep
// their max_tokens, because their answers do not get shorter.
func RouteFor(role Role, small bool) (Route, error) {
	r, ok := routes[role]
	if !ok {
		return Route{}, fmt.Errorf("llm: unknown role %q", role)
	}
	if small {
		r.Primary, r.Fallback = ModelGPT4oMini, ModelClaudeHaiku45
	}
	return r, nil
}
