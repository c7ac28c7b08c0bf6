// Package localrun runs the Lambda functions of template.yaml in one process: it stands in for
// API Gateway (HTTP API, payload format 2.0), for the DynamoDB stream's event source mappings and
// for the EventBridge schedule, and invokes the very handlers the Lambda functions start with,
// through aws-lambda-go's lambda.NewHandler, so events go through the same JSON
// (de)serialisation as in AWS.
//
// What comes from template.yaml (read with shared/samtemplate, so local and deployed behaviour
// cannot drift): the routes and their functions, which functions consume the table's stream with
// which FilterCriteria, batch size and retry bounds, and the schedule's expression, time zone and
// input.
//
// Stand-ins and their local state, all in Options.DataDir:
//   - HTTP: see toEvent and writeResponse for the conversions; an unmatched route answers like API
//     Gateway, 404 {"message":"Not Found"}; bodies over 10 MiB get 413 {"message":…}.
//   - Stream: one poller per consumer reads Store.ReadChanges every Options.Poll, converts each
//     change with dynamo.EventRecordFromChange, applies the consumer's filters (see Filter for the
//     supported subset) and invokes the function with the batch, sequentially. The consumer's
//     cursor is saved (atomically) after every handled batch in stream-cursor-<scope>-<function>.json.
//     A function error or batchItemFailures is retried from the first failed record with
//     exponential backoff, at most MaximumRetryAttempts times; a function error on a batch of
//     several records bisects it first (BisectBatchOnFunctionError). Records that still fail are
//     appended to dead-letters.jsonl (the stand-in for the SQS on-failure destination) and the
//     poller moves on.
//   - Schedule: the schedule's function is invoked asynchronously at each time the expression
//     gives (cron or rate, in its time zone) and additionally every Options.ScheduleEvery.
//   - Asynchronous invocations (handlers.Deps.Invoker, the schedule): goroutines tracked so Close
//     waits for them; a failed one is retried once and then dead-lettered.
package localrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/handlers"
	"github.com/cadre-training/cadretrain/shared/training"
)

// Spec is what the local server takes from template.yaml.
type Spec struct {
	Routes    []Route
	Consumers []Consumer
	Schedules []Schedule
	// AsyncRetries is how often a failed asynchronous invocation is retried (EventInvokeConfig
	// MaximumRetryAttempts of the invoked function; Lambda's default is 2).
	AsyncRetries map[string]int
}

// Consumer is one DynamoDB-stream event source mapping.
type Consumer struct {
	Function   string
	Filters    []string // FilterCriteria patterns, JSON
	BatchSize  int      // default 100
	MaxRetries int      // MaximumRetryAttempts; < 0 means Lambda's default of "until the record expires", bounded here to 10
	Bisect     bool     // BisectBatchOnFunctionError
	// ReportBatchItemFailures: the function may answer with batchItemFailures. Without it Lambda
	// ignores the answer and treats only an error as failure.
	ReportBatchItemFailures bool
}

// Schedule is one scheduled invocation.
type Schedule struct {
	Function   string
	Name       string
	Expression string // cron(…) or rate(…)
	Timezone   string // IANA name; "" is UTC
	Source     string // "aws.scheduler" (ScheduleV2) or "aws.events" (Schedule)
	Input      string // the target's input; "" sends a full EventBridge scheduled event
	Retries    int
}

// Options configures Start.
type Options struct {
	// Addr to listen on, e.g. "127.0.0.1:3000" or "127.0.0.1:0".
	Addr string
	// Store is used by every handler and read by the stream pollers. Start takes ownership:
	// Close closes it.
	Store training.Store
	// StoreKind is "embedded" or "dynamodb" (reported by /v1/health).
	StoreKind string
	// Table names the table in the stream records' eventSourceARN.
	Table string
	// Config is the API keys and webhook secrets.
	Config *config.Config
	// TemplatePath is template.yaml; read unless Spec is given.
	TemplatePath string
	// Spec replaces the template (tests).
	Spec *Spec
	// DataDir holds the stream cursors and the dead-letter file. Required.
	DataDir string
	// CursorScope names the stream the cursors belong to (default StoreKind, plus the table for
	// DynamoDB), so one data dir can serve both stores.
	CursorScope string
	// Poll is the stream poll interval (default 200 ms).
	Poll time.Duration
	// RetryBackoff is the first retry delay of a failed batch; it doubles up to 30 s (default 200 ms).
	RetryBackoff time.Duration
	// ScheduleEvery additionally fires the schedules at this interval (0: only at their times).
	ScheduleEvery time.Duration
	// Now is the clock given to the handlers and used for event times (default time.Now).
	Now func() time.Time
	// Log receives JSON logs (default: JSON to stderr).
	Log *slog.Logger
	// Rules are the policies and crediting overlays (default: the embedded ones).
	Rules *training.Rules
	// Handlers replaces functions by name (tests inject failures); the rest come from handlers.ByName.
	Handlers map[string]any
}

// Server is a running local stand-in.
type Server struct {
	opts     Options
	log      *slog.Logger
	now      func() time.Time
	router   *router
	spec     Spec
	fns      map[string]*function
	ln       net.Listener
	http     *http.Server
	dlq      *deadLetters
	pollers  []*poller
	stop     chan struct{} // closed when Close begins: pollers and schedules stop
	bg       sync.WaitGroup
	jobsMu   sync.Mutex
	jobs     sync.WaitGroup
	closing  bool
	serveErr chan error
	closeMu  sync.Mutex
	closed   bool
	closeErr error
}

// Start loads the template, builds the handlers, starts listening, the stream pollers and the
// schedules, and returns once the server accepts connections.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.Store == nil {
		return nil, errors.New("localrun: Options.Store is required")
	}
	if o.DataDir == "" {
		return nil, errors.New("localrun: Options.DataDir is required")
	}
	if o.Config == nil {
		return nil, errors.New("localrun: Options.Config is required")
	}
	if o.Poll <= 0 {
		o.Poll = 200 * time.Millisecond
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = 200 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if o.CursorScope == "" {
		o.CursorScope = o.StoreKind
		if o.Table != "" && o.StoreKind != "embedded" {
			o.CursorScope += "-" + o.Table
		}
		if o.CursorScope == "" {
			o.CursorScope = "store"
		}
	}
	var spec Spec
	if o.Spec != nil {
		spec = *o.Spec
	} else {
		if o.TemplatePath == "" {
			return nil, errors.New("localrun: Options.TemplatePath or Options.Spec is required")
		}
		var err error
		if spec, err = LoadSpec(o.TemplatePath); err != nil {
			return nil, err
		}
	}
	s := &Server{opts: o, log: o.Log, now: o.Now, spec: spec, stop: make(chan struct{}), serveErr: make(chan error, 1)}
	rt, err := newRouter(spec.Routes)
	if err != nil {
		return nil, fmt.Errorf("localrun: routes: %w", err)
	}
	s.router = rt

	deps := handlers.Deps{Store: o.Store, StoreKind: o.StoreKind, Config: o.Config, Now: o.Now, Invoker: asyncInvoker{s}, Log: o.Log, Rules: o.Rules}
	byName := handlers.ByName(deps)
	for k, v := range o.Handlers {
		byName[k] = v
	}
	s.fns = map[string]*function{}
	for name, fn := range byName {
		s.fns[name] = &function{fn: fn}
	}
	for _, r := range spec.Routes {
		if s.fns[r.Function] == nil {
			return nil, fmt.Errorf("localrun: route %s: no handler for function %q", r.RouteKey(), r.Function)
		}
	}
	if s.dlq, err = openDeadLetters(o.DataDir); err != nil {
		return nil, err
	}
	s.dlq.log = func(err error) { s.log.Error("dead-letter file", "err", err.Error()) }
	for _, c := range spec.Consumers {
		p, err := s.newPoller(c)
		if err != nil {
			return nil, err
		}
		s.pollers = append(s.pollers, p)
	}
	var scheds []*scheduler
	for _, sc := range spec.Schedules {
		if s.fns[sc.Function] == nil {
			return nil, fmt.Errorf("localrun: schedule %s: no handler for function %q", sc.Name, sc.Function)
		}
		sd, err := newScheduler(sc, o.ScheduleEvery)
		if err != nil {
			return nil, fmt.Errorf("localrun: schedule %s: %w", sc.Name, err)
		}
		scheds = append(scheds, sd)
	}

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("localrun: listen on %s: %w", o.Addr, err)
	}
	s.ln = ln
	s.http = &http.Server{
		Handler:           apiHandler{s},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(o.Log.Handler(), slog.LevelWarn),
	}
	go func() { s.serveErr <- s.http.Serve(ln) }()
	for _, p := range s.pollers {
		s.bg.Add(1)
		go func(p *poller) { defer s.bg.Done(); p.run() }(p)
	}
	for _, sd := range scheds {
		s.bg.Add(1)
		go func(sd *scheduler) { defer s.bg.Done(); s.runSchedule(sd) }(sd)
	}
	s.log.Info("local server started", "addr", ln.Addr().String(), "store", o.StoreKind,
		"routes", len(spec.Routes), "stream_consumers", len(spec.Consumers), "schedules", len(spec.Schedules))
	return s, nil
}

// URL is the server's base URL, e.g. http://127.0.0.1:3000.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// ServeErr delivers the error that stopped the HTTP server (http.ErrServerClosed after Close).
func (s *Server) ServeErr() <-chan error { return s.serveErr }

// Close shuts down gracefully: stop accepting and finish in-flight requests (bounded by ctx in
// Shutdown), let each poller finish its current batch, wait for asynchronous jobs, then close the
// store. It is safe to call more than once.
func (s *Server) Close() error { return s.Shutdown(context.Background()) }

// Shutdown is Close bounded by ctx for the in-flight HTTP requests.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return s.closeErr
	}
	s.closed = true
	var errs []error
	if err := s.http.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("http shutdown: %w", err))
	}
	close(s.stop)
	s.bg.Wait()
	s.jobsMu.Lock()
	s.closing = true
	s.jobsMu.Unlock()
	s.jobs.Wait()
	if err := s.dlq.close(); err != nil {
		errs = append(errs, err)
	}
	if err := s.opts.Store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close store: %w", err))
	}
	s.closeErr = errors.Join(errs...)
	s.log.Info("local server stopped")
	return s.closeErr
}

// invoke runs function fn with payload the way the Lambda runtime does (lambda.NewHandler's
// Invoke: JSON in, JSON out). A panic becomes an error, as the runtime reports it.
func (s *Server) invoke(ctx context.Context, fn string, payload []byte) (out []byte, err error) {
	h := s.fns[fn]
	if h == nil {
		return nil, fmt.Errorf("no function %q", fn)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("function %s panicked: %v\n%s", fn, r, debug.Stack())
		}
	}()
	ctx = lambdacontext.NewContext(context.WithoutCancel(ctx), &lambdacontext.LambdaContext{
		AwsRequestID:       newRequestID(),
		InvokedFunctionArn: "arn:aws:lambda:local:" + localAccountID + ":function:" + fn,
	})
	return h.invoke(ctx, payload)
}

// function is one function's pool of execution environments. As in Lambda, an environment serves
// one invocation at a time and concurrent invocations get environments of their own. That is also
// what makes aws-lambda-go's Handler.Invoke safe to use here: it returns the bytes of a pooled
// buffer that it has already put back into its handler's pool, so the bytes must be copied before
// that handler runs again (with one shared handler, concurrent requests could read each other's
// responses).
type function struct {
	fn   any
	mu   sync.Mutex
	idle []lambda.Handler
}

func (f *function) invoke(ctx context.Context, payload []byte) ([]byte, error) {
	f.mu.Lock()
	var h lambda.Handler
	if n := len(f.idle); n > 0 {
		h, f.idle = f.idle[n-1], f.idle[:n-1]
	}
	f.mu.Unlock()
	if h == nil {
		h = lambda.NewHandler(f.fn)
	}
	out, err := h.Invoke(ctx, payload)
	out = bytes.Clone(out) // before h can be reused; a panic above discards h, like a crashed environment
	f.mu.Lock()
	f.idle = append(f.idle, h)
	f.mu.Unlock()
	return out, err
}

// asyncInvoker is handlers.Deps.Invoker: it runs recompute-quota in a tracked goroutine.
type asyncInvoker struct{ s *Server }

func (a asyncInvoker) InvokeAsync(_ context.Context, payload []byte) error {
	return a.s.invokeAsync(handlers.FnRecomputeQuota, payload)
}

// invokeAsync starts fn with payload in the background, like InvocationType Event: the caller does
// not wait; a failure is retried (the function's async retry count) and then dead-lettered.
func (s *Server) invokeAsync(fn string, payload []byte) error {
	retries, ok := s.spec.AsyncRetries[fn]
	if !ok {
		retries = 2 // Lambda's default for asynchronous invocations
	}
	return s.invokeAsyncRetries(fn, payload, retries)
}

func (s *Server) invokeAsyncRetries(fn string, payload []byte, retries int) error {
	if s.fns[fn] == nil {
		return fmt.Errorf("no function %q", fn)
	}
	s.jobsMu.Lock()
	if s.closing {
		s.jobsMu.Unlock()
		return errors.New("the local server is shutting down")
	}
	s.jobs.Add(1)
	s.jobsMu.Unlock()
	go func() {
		defer s.jobs.Done()
		var err error
		for attempt := 0; attempt <= retries; attempt++ {
			if attempt > 0 {
				time.Sleep(s.opts.RetryBackoff << (attempt - 1))
			}
			if _, err = s.invoke(context.Background(), fn, payload); err == nil {
				return
			}
			s.log.Error("asynchronous invocation failed", "function", fn, "attempt", attempt+1, "err", err.Error())
		}
		s.dlq.add(deadLetter{Function: fn, Kind: "async", Reason: err.Error(), Attempts: retries + 1, Payload: json.RawMessage(payload)})
	}()
	return nil
}
