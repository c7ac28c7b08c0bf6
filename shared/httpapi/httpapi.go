// Package httpapi is the HTTP API (docs/api.md) as one http.Handler over app.Service: routing
// (a standard-library ServeMux with method and path patterns, from the one route table in
// routes.go), authentication, unit scoping, body limits, validation of the wire format and
// problem+json errors. cmd/cadred serves it directly; each Lambda function serves the routes it
// owns through API Gateway's HTTP API (shared/awsboot adapts the events). It imports nothing from
// AWS.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/obs"
	"github.com/cadre-training/cadretrain/shared/sheet"
	"github.com/cadre-training/cadretrain/shared/training"
)

// Limits of docs/api.md “Errors”.
const (
	MaxBodyBytes = 1 << 20 // bodies over 1 MiB get 413, refused before they are read
	MaxBatch     = 100     // batches of more than 100 items get 413
)

// Deps is what the API is built from.
type Deps struct {
	Service *app.Service
	// Config serves the API keys and webhook secrets, re-read after its TTL.
	Config *config.Source
	// StoreKind is "embedded" or "dynamodb", reported by GET /v1/health.
	StoreKind string
	// Jobs starts POST /v1/recompute {"all": true} in the background; nil runs it inline.
	Jobs app.JobStarter
	// Log receives one JSON line per request and every internal error.
	Log *slog.Logger
	// Metrics receives CloudWatch Embedded Metric Format counts (nil: none).
	Metrics *obs.Metrics
	// XLSX renders xlsx exports (shared/sheet/xlsx.Write in cadred, sheet.Remote in hr-api); nil
	// where no export is served.
	XLSX sheet.XLSX
}

// API is the http.Handler.
type API struct {
	d   Deps
	mux *http.ServeMux
}

// New builds the handler of every route (the one-machine server).
func New(d Deps) *API { return newAPI(d, Routes()) }

// NewFunction builds the handler of one Lambda function's routes; every other path answers 404
// like an unmatched route.
func NewFunction(d Deps, fn Function) *API { return newAPI(d, fn.routes()) }

func newAPI(d Deps, routes []Route) *API {
	if d.Log == nil {
		d.Log = slog.New(slog.NewJSONHandler(nopWriter{}, nil))
	}
	a := &API{d: d, mux: http.NewServeMux()}
	for _, rt := range routes {
		a.mux.Handle(rt.Method+" "+rt.Path, a.endpoint(rt))
	}
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, training.Errorf(training.ENOTFOUND, "no route %s %s; docs/api.md lists the routes under /v1", r.Method, r.URL.Path))
	})
	return a
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

// Meta is what an adapter knows about a request that the HTTP request itself does not carry.
type Meta struct {
	RequestID string // API Gateway's request id; generated when empty
	ColdStart bool   // the first request of a Lambda execution environment
}

type metaKey struct{}

// WithMeta attaches m to ctx for the API's request log.
func WithMeta(ctx context.Context, m Meta) context.Context {
	return context.WithValue(ctx, metaKey{}, m)
}

// reqLog collects what the request's log line says.
type reqLog struct {
	id      string
	route   string
	caller  string // "key:<id>" or "platform:<id>"; never a key or secret
	authWhy string // why a 401 was answered (the client is told less)
}

type reqLogKey struct{}

func logOf(r *http.Request) *reqLog {
	if l, ok := r.Context().Value(reqLogKey{}).(*reqLog); ok {
		return l
	}
	return &reqLog{}
}

// ServeHTTP serves one request: a body over the limit is refused before it is read, a panic
// becomes a 500 problem with a reference, and one JSON line is logged.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	meta, _ := r.Context().Value(metaKey{}).(Meta)
	if meta.RequestID == "" {
		meta.RequestID = newRequestID()
	}
	rl := &reqLog{id: meta.RequestID, route: "unmatched"}
	r = r.WithContext(context.WithValue(r.Context(), reqLogKey{}, rl))
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			if !sw.wrote {
				a.fail(sw, r, fmt.Errorf("panic: %v\n%s", p, debug.Stack()))
			} else {
				a.d.Log.Error("panic after the response began", "request_id", rl.id, "panic", fmt.Sprint(p))
			}
		}
		attrs := []any{"request_id", rl.id, "method", r.Method, "path", r.URL.Path, "route", rl.route, "status", sw.status,
			"latency_ms", float64(time.Since(start).Microseconds()) / 1000, "cold_start", meta.ColdStart}
		if rl.caller != "" {
			attrs = append(attrs, "caller", rl.caller)
		}
		if rl.authWhy != "" {
			attrs = append(attrs, "auth_failure", rl.authWhy)
		}
		a.d.Log.Info("request", attrs...)
	}()
	if origin := r.Header.Get("Origin"); origin != "" && a.cors(sw, r, origin) {
		return
	}
	if r.ContentLength > MaxBodyBytes {
		a.fail(sw, r, tooLarge(r.ContentLength))
		return
	}
	r.Body = http.MaxBytesReader(sw, r.Body, MaxBodyBytes)
	if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
		// A malformed query would otherwise be dropped silently (and as_of with it).
		a.fail(sw, r, &training.Error{Code: training.EINVALID, Message: "the query string is malformed",
			Fields: training.Fields{{Field: "query", Message: "is not a valid URL query (bad percent-escape or ';')"}}})
		return
	}
	a.mux.ServeHTTP(sw, r)
}

func tooLarge(n int64) error {
	return training.Errorf(training.ETOOLARGE, "the body is %d bytes; the limit is %d (1 MiB)", n, MaxBodyBytes)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if !s.wrote {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

// call is one request to an endpoint.
type call struct {
	r   *http.Request
	w   http.ResponseWriter
	cfg *config.Config
	key *config.APIKey // set for routes with a role
	log *reqLog
}

func (c *call) ctx() context.Context { return c.r.Context() }

// lang is the language the caller asked for (Accept-Language; English by default).
func (c *call) lang() lang { return langOf(c.r) }

// endpoint wraps a route's serve function: configuration, authentication, JSON out.
func (a *API) endpoint(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rl := logOf(r)
		rl.route = rt.Method + " " + rt.Path
		c := &call{r: r, w: w, log: rl}
		if rt.Role != "" || rt.Function == FnIngestCompletions || strings.HasPrefix(rt.Path, "/v1/certificates/") {
			cfg, err := a.d.Config.Get(r.Context())
			if err != nil {
				a.fail(w, r, fmt.Errorf("read configuration: %w", err))
				return
			}
			c.cfg = cfg
		}
		if rt.Role != "" {
			key, err := authenticate(c, rt.Role)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			c.key = key
		}
		status, body, err := rt.serve(a, c)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if status == 0 { // the serve function wrote the response itself
			return
		}
		w.Header().Set("Content-Language", contentLanguage[c.lang()])
		writeJSON(w, status, body)
	})
}

// unauthorized is the one message a client gets for every authentication failure; the reason
// is logged with the request.
func unauthorized(c *call, why string) error {
	c.log.authWhy = why
	return training.Errorf(training.EUNAUTHED, "authentication failed: send Authorization: Bearer <api key> with a valid key")
}

// authenticate resolves the bearer key and checks its role.
func authenticate(c *call, role string) (*config.APIKey, error) {
	auth := c.r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	switch {
	case auth == "":
		return nil, unauthorized(c, "no Authorization header")
	case !ok || !strings.EqualFold(scheme, "Bearer"):
		return nil, unauthorized(c, "Authorization is not a Bearer token")
	}
	key := c.cfg.Authenticate(strings.TrimSpace(token))
	if key == nil {
		return nil, unauthorized(c, "unknown API key")
	}
	c.log.caller = "key:" + key.ID
	if !key.Allows(role) {
		return nil, training.Errorf(training.EFORBIDDEN, "this API key's role %q may not do this (needs %q)", key.Role, role)
	}
	return key, nil
}

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[string]int{
	training.EINVALID:     http.StatusBadRequest,
	training.EUNAUTHED:    http.StatusUnauthorized,
	training.EFORBIDDEN:   http.StatusForbidden,
	training.ENOTFOUND:    http.StatusNotFound,
	training.ECONFLICT:    http.StatusConflict,
	training.ETOOLARGE:    http.StatusRequestEntityTooLarge,
	training.EUNSUPPORTED: http.StatusUnsupportedMediaType,
	training.EINTERNAL:    http.StatusInternalServerError,
}

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string                `json:"type"`
	Title  string                `json:"title"`
	Status int                   `json:"status"`
	Detail string                `json:"detail"`
	Errors []training.FieldError `json:"errors,omitempty"`
}

// problemType is the problem's type URI; docs/api.md describes each.
func problemType(code string) string { return "urn:cadretrain:problem:" + code }

// fail answers err as a problem. Internal errors are logged with the request id and shown to the
// client only as that reference.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	rl := logOf(r)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = tooLarge(mbe.Limit + 1)
	}
	code := training.ErrorCode(err)
	p := Problem{Type: problemType(code), Status: statusOf[code], Detail: training.ErrorMessage(err)}
	var e *training.Error
	if code == training.EINTERNAL {
		a.d.Log.Error("internal error", "request_id", rl.id, "route", rl.route, "err", err.Error())
		p.Detail = "internal error; reference " + rl.id
	} else if errors.As(err, &e) {
		p.Errors = e.Fields
	}
	l := langOf(r)
	a.localize(l, code, &p)
	w.Header().Set("Content-Language", contentLanguage[l])
	if code == training.EUNAUTHED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cadretrain"`)
	}
	writeJSONType(w, p.Status, p, "application/problem+json")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONType(w, status, v, "application/json; charset=utf-8")
}

func writeJSONType(w http.ResponseWriter, status int, v any, ct string) {
	b, err := json.Marshal(v)
	if err != nil { // only our own view types are marshalled
		status, ct = http.StatusInternalServerError, "application/problem+json"
		b = []byte(`{"type":"urn:cadretrain:problem:internal","title":"Internal error","status":500,"detail":"response encoding failed"}`)
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
