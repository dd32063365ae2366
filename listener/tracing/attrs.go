package tracing

import "go.opentelemetry.io/otel/attribute"

// Flux's own span attributes. They hold ids (UUIDs and row numbers, which name rows, not
// people), stages, states and counts: never text a person wrote, names, emails, phone numbers
// or provider ids tied to a number.
const (
	MessageIDKey      = attribute.Key("flux.message.id")      // the user message a chat turn answers
	ConversationIDKey = attribute.Key("flux.conversation.id") // its conversation
	RunAttemptKey     = attribute.Key("flux.run.attempt")     // the agent run's claim, 1-based
	TaskIDKey         = attribute.Key("flux.task.id")         // the task a rung, send or answer is about
	DispatchIDKey     = attribute.Key("flux.dispatch.id")     // the outbox row (dispatch_log.id)
	ChannelKey        = attribute.Key("flux.channel")         // push, whatsapp or call
	StageKey          = attribute.Key("flux.stage")           // the escalation rung
	AttemptKey        = attribute.Key("flux.attempt")         // the outbox row's lease, 1-based
	OutcomeKey        = attribute.Key("flux.outcome")         // what became of the unit of work
	AnswerKey         = attribute.Key("flux.answer")          // a reminder's answer: done, snooze, ...
	ResultKey         = attribute.Key("flux.result")          // what the store made of it: recorded, duplicate, ...
	RowsKey           = attribute.Key("flux.rows")            // rows a batch statement took or wrote
)
