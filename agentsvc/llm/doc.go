// Package llm is the one way Flux's agents talk to a language model: OpenRouter's
// OpenAI-compatible API through go-openai, with the model table, timeouts, retries,
// fallbacks and JSON validation the product specification asks for.
//
// Call is the whole contract. It sends a role's messages to the role's pinned
// model, asks for JSON, decodes the answer strictly into a Go type and runs the
// caller's validation. What can go wrong is handled in two separate loops:
//
//   - Transport failures (timeouts, 429, 5xx, broken connections) say nothing
//     about the prompt, so the same request is retried, then sent to the role's
//     fallback model. A 4xx other than 429 means the request itself is wrong;
//     repeating it cannot help, so it is returned at once. When no model answers,
//     the error wraps ErrUnavailable and the caller switches to its offline path.
//   - Invalid answers (not JSON, unknown fields, failed validation) are the
//     model's mistake, so the model is shown its answer and the error and asked
//     again, at most twice. After that the error wraps ErrInvalidAnswer.
//
// Once a model has failed over, the rest of the Call stays on the fallback: the
// primary just proved unavailable, and a correction belongs with the model that
// made the mistake.
//
// Timeouts are per HTTP attempt (a context deadline, not http.Client.Timeout),
// so a caller's own deadline and cancellation still bound the whole Call and are
// returned as themselves, never as ErrUnavailable: a cancelled run must stop,
// not fall back.
//
// Retry-After is read by the client's transport and handed back through the
// attempt's context, because go-openai's errors do not carry response headers.
//
// Every attempt (a retry, a fallback, a correction) is an OpenTelemetry client span
// named "chat {model}" with the GenAI semantic conventions' attributes (operation,
// provider, request and response model, token usage, finish reasons, error.type) and
// flux.llm.attempt, flux.llm.correction and flux.llm.agent; its duration is the
// attempt's latency. The spans go to Config.TracerProvider, else the global provider,
// which does nothing until the service sets tracing up. They carry no prompt, answer or
// error message: only the request's shape, counts and an error's type (trace.go).
//
// No personal data passes through here by design: agents pass user, goal and
// task ids, never names, emails or phone numbers, and this package logs only
// roles, models, timings and errors, never prompts or answers.
package llm
