// Package llmfake is an OpenAI-compatible chat-completions server on a loopback
// address for tests and `flux dev`. It speaks the wire format OpenRouter speaks,
// so the agents' real client (go-openai, built by agentsvc/llm with the fake's URL
// as its base URL) is exercised end to end instead of a mock.
//
// It implements
//
//	POST /api/v1/chat/completions
//
// and answers with a full chat.completion JSON body, or with an OpenAI-shaped
// error body ({"error":{"message","type","code"}}) and, for 429, a Retry-After
// header. What it answers comes from a queue (Push) and then a function (Script);
// a Reply's Delay makes the answer slow, which is how a test simulates a timeout.
//
// Every request is recorded (Requests) with its arrival and end times, and the
// fake tracks the highest number of requests it was handling at once
// (InFlightMax), so a test can prove that calls overlapped.
//
// Nothing here talks to the internet: the server binds to loopback only, and
// Close releases delayed handlers so no goroutine outlives it.
package llmfake
