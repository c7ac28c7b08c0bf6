// Package server is the whole backend on one machine: the HTTP API (shared/httpapi) served by a
// net/http server with timeouts and a connection cap, the store's change feed tailed in process
// (every change goes to app.Service.HandleChanges, with a durable cursor, retries and dead
// letters), full recomputes run as background jobs, the daily recompute at 02:00 China
// Standard Time, and the notices of the store's outbox delivered in the background. cmd/cadred wires it; the e2e tests start it in process.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"
	_ "time/tzdata" // Asia/Shanghai without a system zoneinfo

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/httpapi"
	"github.com/cadre-training/cadretrain/shared/obs"
	"github.com/cadre-training/cadretrain/shared/sheet"
	"github.com/cadre-training/cadretrain/shared/training"
)

// Defaults of Options.
const (
	DefaultPoll          = 200 * time.Millisecond
	DefaultBatchSize     = 1000
	DefaultMaxRetries    = 5
	DefaultRetryBackoff  = 200 * time.Millisecond
	DefaultMaxConns      = 1024
	DefaultNoticePoll    = 5 * time.Second
	maxBackoff           = 30 * time.Second
	dailyRecomputeHour   = 2 // 02:00 Asia/Shanghai, as template.yaml's schedule
	readHeaderTimeout    = 10 * time.Second
	readTimeout          = 30 * time.Second
	writeTimeout         = 60 * time.Second
	idleTimeout          = 120 * time.Second
	jobRetries           = 1
	scheduleTimeZoneName = "Asia/Shanghai"
)

// Options configures Start.
type Options struct {
	// Addr to listen on, e.g. "127.0.0.1:3000" or "127.0.0.1:0".
	Addr string
	// Store serves the API and its change feed is tailed. Start takes ownership: Shutdown closes it.
	Store training.Store
	// StoreKind is "embedded" or "dynamodb" (reported by /v1/health).
	StoreKind string
	// Config serves the API keys and webhook secrets (re-read after its TTL).
	Config *config.Source
	// DataDir holds the dead-letter file, and the feed cursor of a store that does not keep it
	// itself (training.CursorStore). Required.
	DataDir string
	// CursorName names the feed cursor (default "changes-" + StoreKind), so one data dir can
	// serve several stores.
	CursorName string
	// Poll is the feed poll interval when it is drained (default 200 ms).
	Poll time.Duration
	// BatchSize is the most changes handled in one pass (default 1000).
	BatchSize int
	// MaxRetries is how often a failing change is retried before it is dead-lettered (default 5).
	MaxRetries int
	// RetryBackoff is the first retry delay; it doubles up to 30 s (default 200 ms).
	RetryBackoff time.Duration
	// MaxConns caps open client connections (default 1024).
	MaxConns int
	// ReadTimeout bounds reading one request, headers and body (default 30 s): a client that
	// trickles its body is cut off. The header alone has 10 s.
	ReadTimeout time.Duration
	// WriteTimeout bounds serving one request after its header was read (default 60 s).
	WriteTimeout time.Duration
	// ScheduleEvery additionally runs the daily recompute at this interval (0: only at 02:00).
	ScheduleEvery time.Duration
	// Now is the service's clock (default time.Now).
	Now func() time.Time
	// Log receives JSON logs (default: JSON to stderr).
	Log *slog.Logger
	// Metrics receives CloudWatch Embedded Metric Format lines (nil: none).
	Metrics io.Writer
	// XLSX renders xlsx exports (shared/sheet/xlsx.Write); nil: xlsx is refused, CSV still served.
	XLSX sheet.XLSX
	// Rules are the policies and crediting overlays (nil: the embedded ones).
	Rules *training.Rules
	// Service replaces the application service built on Store (tests inject failures).
	Service *app.Service
	// NoticeSchedule is the delay before each delivery attempt of a notice (default
	// training.RetrySchedule, Svix's: 0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h); tests shorten it.
	NoticeSchedule []time.Duration
	// NoticePoll is the longest the deliverer sleeps between passes over the outbox (default 5 s).
	NoticePoll time.Duration
	// NoticeTimeout bounds one delivery attempt (default 15 s).
	NoticeTimeout time.Duration
}

// Server is a running one-machine backend.
type Server struct {
	opts     Options
	log      *slog.Logger
	svc      *app.Service
	metrics  *obs.Metrics
	ln       net.Listener
	http     *http.Server
	dlq      *deadLetters
	stop     chan struct{}
	bg       sync.WaitGroup
	jobsMu   sync.Mutex
	jobs     sync.WaitGroup
	closing  bool
	serveErr chan error
	closeMu  sync.Mutex
	closed   bool
	closeErr error
}

// Start builds the service and the API, listens, and starts the feed tailer and the schedule.
// It returns once the server accepts connections.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.Store == nil || o.Config == nil || o.DataDir == "" {
		return nil, errors.New("server: Options.Store, Config and DataDir are required")
	}
	orDefault(&o.Poll, DefaultPoll)
	orDefault(&o.BatchSize, DefaultBatchSize)
	orDefault(&o.MaxRetries, DefaultMaxRetries)
	orDefault(&o.RetryBackoff, DefaultRetryBackoff)
	orDefault(&o.MaxConns, DefaultMaxConns)
	orDefault(&o.ReadTimeout, readTimeout)
	orDefault(&o.WriteTimeout, writeTimeout)
	orDefault(&o.NoticePoll, DefaultNoticePoll)
	if o.Log == nil {
		o.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if o.CursorName == "" {
		o.CursorName = "changes-" + o.StoreKind
	}
	svc := o.Service
	if svc == nil {
		svc = app.New(o.Store)
		if o.Now != nil {
			svc.Now = o.Now
		}
		svc.Rules = o.Rules
	}
	s := &Server{opts: o, log: o.Log, svc: svc, stop: make(chan struct{}), serveErr: make(chan error, 1)}
	if o.Metrics != nil {
		s.metrics = obs.New(o.Metrics, "cadred")
	}
	var err error
	if s.dlq, err = openDeadLetters(o.DataDir); err != nil {
		return nil, err
	}
	t, err := s.newTailer()
	if err != nil {
		return nil, err
	}
	dl := s.newDeliverer()
	if svc.Notify == nil {
		svc.Notify = dl.notify
	}
	api := httpapi.New(httpapi.Deps{XLSX: o.XLSX, Service: svc, Config: o.Config, StoreKind: o.StoreKind, Jobs: s, Log: o.Log, Metrics: s.metrics})
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", o.Addr, err)
	}
	s.ln = limitListener(ln, o.MaxConns)
	s.http = &http.Server{
		Handler:           api,
		ReadHeaderTimeout: min(readHeaderTimeout, o.ReadTimeout),
		ReadTimeout:       o.ReadTimeout,
		WriteTimeout:      o.WriteTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(o.Log.Handler(), slog.LevelWarn),
	}
	go func() { s.serveErr <- s.http.Serve(s.ln) }()
	s.goBackground("change feed", t.run)
	s.goBackground("schedule", s.runSchedule)
	s.goBackground("notices", dl.run)
	s.log.Info("server started", "addr", ln.Addr().String(), "store", o.StoreKind)
	return s, nil
}

// orDefault sets an option that is not positive to its default.
func orDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// goBackground runs fn until the server stops. A panic in it is logged with its stack and the
// goroutine restarted after a pause, so a bug never silently stops the feed or the schedule.
func (s *Server) goBackground(name string, fn func()) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		for {
			if !s.runGuarded(name, fn) {
				return
			}
			select {
			case <-s.stop:
				return
			case <-time.After(time.Second):
			}
		}
	}()
}

// runGuarded runs fn and reports whether it panicked.
func (s *Server) runGuarded(name string, fn func()) (panicked bool) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("background task panicked; restarting it", "task", name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			panicked = true
		}
	}()
	fn()
	return false
}

// URL is the server's base URL, e.g. http://127.0.0.1:3000.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// ServeErr delivers the error that stopped the HTTP server.
func (s *Server) ServeErr() <-chan error { return s.serveErr }

// Close is Shutdown without a deadline.
func (s *Server) Close() error { return s.Shutdown(context.Background()) }

// Shutdown stops accepting, finishes in-flight requests (bounded by ctx), lets the tailer finish
// its batch, waits for background jobs, then closes the store. Safe to call more than once.
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
	if err := s.opts.Store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close store: %w", err))
	}
	s.closeErr = errors.Join(errs...)
	s.log.Info("server stopped")
	return s.closeErr
}

// StartRecompute runs a full recompute in a tracked goroutine (app.JobStarter): a failed run is
// retried once, then dead-lettered (cadred redrive runs it again).
func (s *Server) StartRecompute(_ context.Context, job app.RecomputeJob) error {
	s.jobsMu.Lock()
	if s.closing {
		s.jobsMu.Unlock()
		return training.Errorf(training.EINTERNAL, "the server is shutting down")
	}
	s.jobs.Add(1)
	s.jobsMu.Unlock()
	go func() {
		defer s.jobs.Done()
		var err error
		for attempt := 0; attempt <= jobRetries; attempt++ {
			if err = s.runJob(job); err == nil {
				return
			}
			s.log.Error("recompute job failed", "job_id", job.JobID, "attempt", attempt+1, "err", err.Error())
		}
		s.deadLetter(deadLetter{Kind: letterJob, Reason: err.Error(), Attempts: jobRetries + 1, Job: &job})
	}()
	return nil
}

func (s *Server) runJob(job app.RecomputeJob) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	start := time.Now()
	res, err := s.svc.RunRecomputeJob(context.Background(), job, func(id string, err error) {
		s.log.Error("recompute failed", "job_id", job.JobID, "cadre_id", id, "err", err.Error())
	})
	s.metrics.Put(obs.DurationOf(obs.RecomputeDuration, time.Since(start)), obs.CountOf(obs.RecomputeFailures, res.Failed))
	s.log.Info("recompute job finished", "job_id", job.JobID, "recomputed", res.Recomputed, "failed", res.Failed)
	return err
}

// runSchedule runs the daily full recompute at 02:00 Asia/Shanghai (and every ScheduleEvery); its
// end deletes the expired recompute jobs (app.Service.SweepJobs).
func (s *Server) runSchedule() {
	loc, err := time.LoadLocation(scheduleTimeZoneName)
	if err != nil {
		s.log.Error("schedule time zone", "err", err.Error())
		return
	}
	now := time.Now()
	nextDaily := nextDailyAt(now, loc)
	var nextEvery time.Time
	if s.opts.ScheduleEvery > 0 {
		nextEvery = now.Add(s.opts.ScheduleEvery)
	}
	for {
		at := nextDaily
		if !nextEvery.IsZero() && nextEvery.Before(at) {
			at = nextEvery
		}
		t := time.NewTimer(time.Until(at))
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-t.C:
		}
		if !at.Before(nextDaily) {
			nextDaily = nextDailyAt(at, loc)
		}
		if !nextEvery.IsZero() && !at.Before(nextEvery) {
			nextEvery = at.Add(s.opts.ScheduleEvery)
		}
		job := app.RecomputeJob{JobID: "schedule-" + at.In(loc).Format("20060102T1504")}
		s.log.Info("schedule fired", "job_id", job.JobID)
		if err := s.StartRecompute(context.Background(), job); err != nil {
			s.log.Error("schedule", "err", err.Error())
		}
	}
}

// nextDailyAt is the first 02:00 in loc strictly after t.
func nextDailyAt(t time.Time, loc *time.Location) time.Time {
	lt := t.In(loc)
	n := time.Date(lt.Year(), lt.Month(), lt.Day(), dailyRecomputeHour, 0, 0, 0, loc)
	if !n.After(t) {
		n = time.Date(lt.Year(), lt.Month(), lt.Day()+1, dailyRecomputeHour, 0, 0, 0, loc)
	}
	return n
}

// limitListener caps the open connections: Accept waits while max are open.
func limitListener(l net.Listener, max int) net.Listener {
	return &capListener{Listener: l, sem: make(chan struct{}, max)}
}

type capListener struct {
	net.Listener
	sem chan struct{}
}

func (l *capListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &capConn{Conn: c, release: func() { <-l.sem }}, nil
}

type capConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *capConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// GCPercent is the server's GOGC unless the environment sets one. The heap a request leaves
// behind is small and short-lived, so at Go's default (100) the collector ran every few
// milliseconds under load and took ~15 % of the server's CPU; at 300 it takes a third of that,
// for ~25 MB more peak RSS (docs/benchmarks.md “One server (issue 6)”). A full recompute runs in
// the server, so cadrescale measures it with the same setting.
const GCPercent = 300

// SetGCPercent applies GCPercent unless GOGC is set; it returns the setting and whether it
// applied it.
func SetGCPercent() (int, bool) {
	if os.Getenv("GOGC") != "" {
		return 0, false
	}
	debug.SetGCPercent(GCPercent)
	return GCPercent, true
}
