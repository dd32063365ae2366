package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"go.opentelemetry.io/otel/trace"
)

// MaxCorrections is how many times an invalid answer is re-asked.
const MaxCorrections = 2

var (
	// ErrUnavailable means no model gave an answer: every attempt on the
	// primary and the fallback failed, or the provider rejected the request.
	// Callers switch to their offline path.
	ErrUnavailable = errors.New("llm: no model available")
	// ErrInvalidAnswer means the model kept answering with JSON that did not
	// decode or validate, after MaxCorrections corrections.
	ErrInvalidAnswer = errors.New("llm: invalid answer")
)

// errNoChoices is a 200 without an answer in it, which OpenRouter sends when
// an upstream provider fails mid-request; it is retried like a 5xx.
var errNoChoices = errors.New("response has no choices")

// Usage is what one Call cost, for the token budget and the run's trace.
type Usage struct {
	Model            string // the model that gave the final answer; "" if none did
	PromptTokens     int    // summed over every attempt
	CompletionTokens int
	Attempts         []Attempt
}

// TotalTokens is prompt plus completion tokens.
func (u Usage) TotalTokens() int { return u.PromptTokens + u.CompletionTokens }

// Attempt is one HTTP request to a model.
type Attempt struct {
	Model                          string
	Latency                        time.Duration
	PromptTokens, CompletionTokens int
	// Err is why this attempt's answer was not used: a transport or API
	// error, or (wrapping ErrInvalidAnswer) why the answer failed to decode
	// or validate. It is nil for the answer Call returned.
	Err error
}

// Option changes one Call.
type Option func(*options)

type options struct {
	small       bool
	schema      *openai.ChatCompletionResponseFormatJSONSchema
	temperature float32
}

// Small makes orchestrator and planner use the small model (RouteFor), for
// users past the hard monthly token limit.
func Small(on bool) Option { return func(o *options) { o.small = on } }

// Schema asks for response_format json_schema (strict) instead of
// json_object. The schema must meet OpenAI's strict mode: every property
// required and additionalProperties false.
func Schema(name string, schema json.Marshaler) Option {
	return func(o *options) {
		o.schema = &openai.ChatCompletionResponseFormatJSONSchema{Name: name, Schema: schema, Strict: true}
	}
}

// Temperature sets the sampling temperature. Zero means the provider's
// default, because go-openai omits a zero temperature.
func Temperature(t float32) Option { return func(o *options) { o.temperature = t } }

// Call asks role's model for a JSON answer and returns it decoded into T.
//
// The answer is decoded strictly (unknown fields and trailing data are
// errors; a ```json fence around it is tolerated) and then checked by
// validate, which may be nil. An answer that fails either is sent back to the
// model with the error, at most MaxCorrections times, before Call gives up
// with ErrInvalidAnswer. Transport failures are retried and fail over as the
// package documentation describes, ending in ErrUnavailable. The caller's
// ctx cancellation is returned as is. Usage is filled in on error too.
//
// messages must identify people by id only (see the package documentation).
func Call[T any](ctx context.Context, c *Client, role Role, messages []openai.ChatCompletionMessage, validate func(*T) error, opts ...Option) (T, Usage, error) {
	var zero T
	var usage Usage
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	route, err := RouteFor(role, o.small)
	if err != nil {
		return zero, usage, err
	}

	format := &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeJSONObject}
	if o.schema != nil {
		format = &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeJSONSchema, JSONSchema: o.schema}
	}
	req := openai.ChatCompletionRequest{
		Messages:       slices.Clone(messages), // corrections append; the caller's slice stays as it was
		MaxTokens:      route.MaxTokens,
		Temperature:    o.temperature,
		ResponseFormat: format,
	}
	models := []string{route.Primary, route.Fallback}
	from := 0
	for correction := 0; ; correction++ {
		answered, content, span, err := c.complete(ctx, attemptMeta{role, correction}, models[from:], req, &usage)
		if err != nil {
			return zero, usage, err
		}
		from += answered
		usage.Model = models[from]

		v, err := decode[T](content)
		if err == nil && validate != nil {
			err = validate(&v)
		}
		if err == nil {
			endSpan(span, nil)
			return v, usage, nil
		}
		usage.Attempts[len(usage.Attempts)-1].Err = fmt.Errorf("%w: %w", ErrInvalidAnswer, err)
		endSpan(span, usage.Attempts[len(usage.Attempts)-1].Err)
		if correction == MaxCorrections {
			return zero, usage, fmt.Errorf("%w: %s on %s after %d corrections: %w", ErrInvalidAnswer, role, usage.Model, MaxCorrections, err)
		}
		c.log.LogAttrs(ctx, slog.LevelInfo, "llm answer invalid, asking again",
			slog.String("role", string(role)), slog.String("model", usage.Model),
			slog.Int("correction", correction+1), slog.String("err", err.Error()))
		req.Messages = append(req.Messages,
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: content},
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser,
				Content: "Your last answer was invalid: " + err.Error() + ". Answer again with JSON only."},
		)
	}
}

// attemptMeta is what an attempt's span says about the Call it belongs to.
type attemptMeta struct {
	role       Role
	correction int
}

// complete gets one answer, trying models in order, each 1+retries times. It
// returns the index of the model that answered and the answering attempt's
// span, still open for Call to end once it has checked the answer.
func (c *Client) complete(ctx context.Context, meta attemptMeta, models []string, req openai.ChatCompletionRequest, usage *Usage) (int, string, trace.Span, error) {
	role := meta.role
	var last error
	for i, model := range models {
		req.Model = model
		for try := 0; try <= c.retries; try++ {
			content, retryAfter, span, err := c.attempt(ctx, req, meta, usage)
			if err == nil {
				return i, content, span, nil
			}
			if ctx.Err() != nil {
				return 0, "", nil, fmt.Errorf("llm: %s on %s: %w", role, model, context.Cause(ctx))
			}
			if !retryable(err) {
				return 0, "", nil, fmt.Errorf("%w: %s on %s: request rejected: %w", ErrUnavailable, role, model, err)
			}
			last = err
			if try == c.retries {
				break // on to the fallback at once: another model is another provider
			}
			wait := c.wait(try+1, retryAfter)
			c.log.LogAttrs(ctx, slog.LevelWarn, "llm attempt failed, retrying",
				slog.String("role", string(role)), slog.String("model", model),
				slog.Int("attempt", try+1), slog.Duration("wait", wait), slog.String("err", err.Error()))
			if err := sleep(ctx, wait); err != nil {
				return 0, "", nil, fmt.Errorf("llm: %s on %s: %w", role, model, err)
			}
		}
		if i+1 < len(models) {
			c.log.LogAttrs(ctx, slog.LevelWarn, "llm model unavailable, falling back",
				slog.String("role", string(role)), slog.String("model", model),
				slog.String("fallback", models[i+1]), slog.String("err", last.Error()))
		}
	}
	return 0, "", nil, fmt.Errorf("%w: %s: %s failed %d times each: %w",
		ErrUnavailable, role, strings.Join(models, ", "), c.retries+1, last)
}

// attempt sends one request under its own timeout and records it in usage.
// It also returns the response's Retry-After, if any, and, when it answered,
// the attempt's span for the caller to end (a failed attempt ends its own).
func (c *Client) attempt(ctx context.Context, req openai.ChatCompletionRequest, meta attemptMeta, usage *Usage) (string, time.Duration, trace.Span, error) {
	sctx, span := c.startSpan(ctx, req, meta, len(usage.Attempts)+1)
	// The clock starts before the timeout's, so an attempt that timed out reports at least the
	// timeout as its latency.
	start := time.Now()
	actx, cancel := context.WithTimeout(sctx, c.timeout)
	defer cancel()
	hint := new(retryHint)
	actx = context.WithValue(actx, retryHintKey{}, hint)

	resp, err := c.api.CreateChatCompletion(actx, req)
	a := Attempt{Model: req.Model, Latency: time.Since(start)}
	switch {
	case err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded):
		err = fmt.Errorf("no answer within %s: %w", c.timeout, err)
	case err == nil:
		a.PromptTokens, a.CompletionTokens = resp.Usage.PromptTokens, resp.Usage.CompletionTokens
		recordResponse(span, resp)
		if len(resp.Choices) == 0 {
			err = errNoChoices
		}
	}
	a.Err = err
	usage.Attempts = append(usage.Attempts, a)
	usage.PromptTokens += a.PromptTokens
	usage.CompletionTokens += a.CompletionTokens
	if err != nil {
		endSpan(span, err)
		return "", hint.get(), nil, err
	}
	return resp.Choices[0].Message.Content, 0, span, nil
}

// retryable reports whether a failed attempt may succeed if repeated: a
// failure without an HTTP status (connection, timeout, unreadable body), 408,
// 429 or 5xx.
func retryable(err error) bool {
	status := 0
	// RequestError first: it can wrap an APIError whose status is unset.
	var reqErr *openai.RequestError
	var apiErr *openai.APIError
	switch {
	case errors.As(err, &reqErr):
		status = reqErr.HTTPStatusCode
	case errors.As(err, &apiErr):
		status = apiErr.HTTPStatusCode
	}
	return status == 0 || status == http.StatusRequestTimeout ||
		status == http.StatusTooManyRequests || status >= 500
}

// wait is the pause before retry n (1-based): the server's Retry-After if it
// sent one, else exponential backoff with jitter so parallel agents do not
// retry in step; either way capped by MaxRetryWait.
func (c *Client) wait(n int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, c.maxRetryWait)
	}
	d := c.backoff << min(n-1, 16)
	d += rand.N(d/5 + 1)
	return min(d, c.maxRetryWait)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// decode reads content as exactly one JSON value of type T.
func decode[T any](content string) (T, error) {
	var v T
	dec := json.NewDecoder(strings.NewReader(stripFence(content)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, fmt.Errorf("answer is not the expected JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return v, errors.New("answer has more than one JSON value")
	}
	return v, nil
}

// stripFence removes a Markdown code fence (```json … ```), which models add
// even when asked for JSON only.
func stripFence(s string) string {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, "```")
	if !ok {
		return s
	}
	if i := strings.IndexByte(rest, '\n'); i >= 0 {
		rest = rest[i+1:] // drop the info string, e.g. "json"
	} else {
		rest = strings.TrimPrefix(rest, "json")
	}
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "```"))
}
