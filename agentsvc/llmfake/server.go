package llmfake

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flux-companion/flux/internal/loopback"
)

// BasePath is the path prefix of the API, as on OpenRouter.
const BasePath = "/api/v1"

// DefaultRetryAfter is the Retry-After sent with a 429 whose Reply sets none.
const DefaultRetryAfter = time.Second

// maxBody bounds what a request body may hold; real prompts are far smaller.
const maxBody = 8 << 20

// Message is one chat message as the client sent it.
type Message struct {
	Role    string
	Content string // text parts joined when the client sent an array of parts
}

// Request is one chat-completions request the fake received.
type Request struct {
	Model       string
	Messages    []Message
	MaxTokens   int      // max_tokens, or max_completion_tokens when only that was sent
	Temperature *float64 // nil when the client sent none
	// ResponseFormat is the response_format object verbatim; nil when absent.
	ResponseFormat json.RawMessage
	Headers        http.Header
	Time           time.Time // when the request arrived (the start of its handling)
	End            time.Time // when the fake answered or the client gave up; zero while in flight
	// Status is the HTTP status answered; 0 while in flight or when the
	// client gave up (or the fake closed) before the answer.
	Status int
}

// Last returns the content of the last message with the given role, or "".
func (r Request) Last(role string) string {
	for _, m := range slices.Backward(r.Messages) {
		if m.Role == role {
			return m.Content
		}
	}
	return ""
}

// Reply is what the fake answers to one request.
type Reply struct {
	// Content is the assistant message; for an error Status it is the error
	// message (http.StatusText when empty).
	Content string
	Status  int           // 0 means 200
	Delay   time.Duration // wait before answering; longer than the client's timeout simulates a timeout
	// RetryAfter is sent as Retry-After (whole seconds, rounded up) with a 429
	// (DefaultRetryAfter when zero) or, when set, with any other error status.
	RetryAfter time.Duration
	// Token counts reported in usage. When both are zero the fake estimates
	// them (about four characters a token) so budget code sees plausible usage.
	PromptTokens, CompletionTokens int
}

// Server is a running fake.
type Server struct {
	url string
	ls  *loopback.Server // its Closing releases delayed handlers

	mu          sync.Mutex
	requests    []Request
	queue       []Reply
	script      func(Request) Reply
	inFlight    int
	inFlightMax int
}

// Start starts a fake on 127.0.0.1 with a random port.
func Start() (*Server, error) { return StartOn("127.0.0.1:0") }

// StartOn is Start on a given address, e.g. "127.0.0.1:8098" for `flux dev`.
// The address must be a loopback one.
func StartOn(addr string) (*Server, error) {
	ls, err := loopback.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("llmfake: %w", err)
	}
	s := &Server{url: "http://" + ls.Addr() + BasePath, ls: ls}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+BasePath+"/chat/completions", s.chatCompletions)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "llmfake: no route for "+r.Method+" "+r.URL.Path, 0)
	})
	ls.Serve(mux)
	return s, nil
}

// URL is the base URL to give the client, e.g. http://127.0.0.1:41234/api/v1.
func (s *Server) URL() string { return s.url }

// Close stops the server and waits for its handlers, including delayed ones,
// to return. It is safe to call more than once.
func (s *Server) Close() {
	s.ls.Close()
}

// Push queues replies; queued replies are used, oldest first, before Script.
func (s *Server) Push(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, replies...)
}

// Script sets the function that answers requests once the queue is empty.
// It may be called from several handlers at once. Without a script and with
// an empty queue the fake answers 500, which a test sees as an unexpected call.
func (s *Server) Script(f func(req Request) Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = f
}

// Requests returns the requests received so far, in arrival order: every
// authorized, well-formed one, including those still in flight.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.requests)
	for i := range out {
		out[i] = cloneRequest(out[i])
	}
	return out
}

// InFlightMax is the highest number of requests the fake was handling at the
// same moment.
func (s *Server) InFlightMax() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inFlightMax
}

// wireRequest is the part of the OpenAI request body the fake looks at.
type wireRequest struct {
	Model               string          `json:"model"`
	Messages            []wireMessage   `json:"messages"`
	MaxTokens           int             `json:"max_tokens"`
	MaxCompletionTokens int             `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	ResponseFormat      json.RawMessage `json:"response_format"`
	Stream              bool            `json:"stream"`
}

type wireMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) {
	s.enter()
	defer s.leave()

	arrived := time.Now()
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		writeError(w, http.StatusUnauthorized, "No auth credentials found", 0)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return // the client went away
	}
	req, err := parseRequest(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "llmfake: "+err.Error(), 0)
		return
	}
	req.Headers = r.Header.Clone()
	req.Time = arrived
	id := s.record(req)

	reply := s.next(req)
	if reply.Delay > 0 {
		t := time.NewTimer(reply.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done(): // the client timed out or was cancelled
			s.finish(id, 0)
			return
		case <-s.ls.Closing():
			s.finish(id, 0)
			// Drop the connection, as a server going away does; returning
			// normally would send the client an empty 200.
			panic(http.ErrAbortHandler)
		}
	}

	status := cmp.Or(reply.Status, http.StatusOK)
	if status != http.StatusOK {
		retryAfter := reply.RetryAfter
		if status == http.StatusTooManyRequests && retryAfter <= 0 {
			retryAfter = DefaultRetryAfter
		}
		writeError(w, status, cmp.Or(reply.Content, http.StatusText(status)), retryAfter)
	} else {
		writeCompletion(w, req, reply)
	}
	s.finish(id, status)
}

func parseRequest(body []byte) (Request, error) {
	var wr wireRequest
	if err := json.Unmarshal(body, &wr); err != nil {
		return Request{}, fmt.Errorf("request body is not JSON: %w", err)
	}
	switch {
	case wr.Model == "":
		return Request{}, fmt.Errorf("model is required")
	case len(wr.Messages) == 0:
		return Request{}, fmt.Errorf("messages must not be empty")
	case wr.Stream:
		return Request{}, fmt.Errorf("streaming is not supported")
	}
	req := Request{
		Model:          wr.Model,
		MaxTokens:      cmp.Or(wr.MaxTokens, wr.MaxCompletionTokens),
		Temperature:    wr.Temperature,
		ResponseFormat: wr.ResponseFormat,
	}
	for i, m := range wr.Messages {
		content, err := messageText(m.Content)
		if err != nil {
			return Request{}, fmt.Errorf("messages[%d].content: %w", i, err)
		}
		req.Messages = append(req.Messages, Message{Role: m.Role, Content: content})
	}
	return req, nil
}

// messageText reads content that is either a string or an array of parts
// ([{"type":"text","text":...}]), the two shapes the API accepts.
func messageText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", fmt.Errorf("neither a string nor an array of parts")
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

func writeCompletion(w http.ResponseWriter, req Request, reply Reply) {
	prompt, completion := reply.PromptTokens, reply.CompletionTokens
	if prompt == 0 && completion == 0 {
		for _, m := range req.Messages {
			prompt += estimateTokens(m.Content)
		}
		completion = estimateTokens(reply.Content)
	}
	type message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	type choice struct {
		Index        int     `json:"index"`
		Message      message `json:"message"`
		FinishReason string  `json:"finish_reason"`
	}
	type usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	}
	writeJSON(w, http.StatusOK, struct {
		ID      string   `json:"id"`
		Object  string   `json:"object"`
		Created int64    `json:"created"`
		Model   string   `json:"model"`
		Choices []choice `json:"choices"`
		Usage   usage    `json:"usage"`
	}{
		ID:      newID(),
		Object:  "chat.completion",
		Created: time.Now().Unix(),
		Model:   req.Model,
		Choices: []choice{{
			Message:      message{Role: "assistant", Content: reply.Content},
			FinishReason: "stop",
		}},
		Usage: usage{prompt, completion, prompt + completion},
	})
}

// writeError writes the OpenAI error shape. The code is the HTTP status, as
// OpenRouter sends it.
func writeError(w http.ResponseWriter, status int, message string, retryAfter time.Duration) {
	if retryAfter > 0 {
		secs := int64(math.Ceil(retryAfter.Seconds()))
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	type apiError struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    int    `json:"code"`
	}
	writeJSON(w, status, struct {
		Error apiError `json:"error"`
	}{apiError{Message: message, Type: errorType(status), Code: status}})
}

func errorType(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "authentication_error"
	case status == http.StatusPaymentRequired:
		return "insufficient_quota"
	case status == http.StatusTooManyRequests:
		return "rate_limit_exceeded"
	case status >= 500:
		return "server_error"
	default:
		return "invalid_request_error"
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		panic(fmt.Sprintf("llmfake: encode response: %v", err)) // only fixed, encodable types reach here
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // a client that went away is not the fake's problem
}

func (s *Server) enter() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight++
	s.inFlightMax = max(s.inFlightMax, s.inFlight)
}

func (s *Server) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight--
}

// record appends req and returns its index, so finish can complete it even
// when later requests were recorded in between.
func (s *Server) record(req Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)
	return len(s.requests) - 1
}

func (s *Server) finish(id, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[id].End = time.Now()
	s.requests[id].Status = status
}

// next pops the queue or asks the script; the script runs unlocked so it may
// be slow or call back into the server.
func (s *Server) next(req Request) Reply {
	s.mu.Lock()
	if len(s.queue) > 0 {
		r := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		return r
	}
	script := s.script
	s.mu.Unlock()
	if script == nil {
		return Reply{Status: http.StatusInternalServerError, Content: "llmfake: no reply queued or scripted"}
	}
	return script(cloneRequest(req))
}

func cloneRequest(r Request) Request {
	r.Messages = slices.Clone(r.Messages)
	r.ResponseFormat = bytes.Clone(r.ResponseFormat)
	r.Headers = r.Headers.Clone()
	if r.Temperature != nil {
		r.Temperature = new(*r.Temperature)
	}
	return r
}

func estimateTokens(s string) int { return len(s)/4 + 1 }

// newID returns an OpenRouter-shaped generation id: gen-<unix>-<random>.
func newID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return fmt.Sprintf("gen-%d-%s", time.Now().Unix(), hex.EncodeToString(b))
}
