// Command loadgen puts a bounded load on a running server (docs/api.md) over HTTP and reports, per
// kind of request and overall, the count, errors, throughput and latency percentiles, then how
// long after the last write the stored status snapshots caught up.
//
//	make run                              # in one terminal: the local server on 127.0.0.1:3000
//	go run ./cmd/loadgen                  # in another: 200 cadres, 20000 requests, 64 in flight
//	make load                             # both at once, on a fresh data directory and a free port
//
// It only targets loopback addresses (127.0.0.0/8, ::1, localhost) and stops by itself: after
// -requests requests or -duration, whichever comes first, plus at most -catchup-timeout of polling.
//
// The load, after creating -cadres profiles in cn/cq/load/<run>/g0…g3 (HR key) and one
// POST /v1/recompute for that unit (admin key, so every cadre has a stored snapshot):
//
//	write    POST /v1/cadres/{id}/self-study, unique Idempotency-Key (validation, fsynced create, change feed)
//	fresh    GET  /v1/cadres/{id}/quota-status?as_of=<today>  (fresh evaluation over the cadre's records)
//	stored   GET  /v1/cadres/{id}/quota-status                 (the stored snapshot)
//	webhook  POST /v1/webhooks/completions/<platform>, signed, a batch of 10 centralized completions
//
// mixed by -mix (default write=40,fresh=30,stored=20,webhook=10) in an interleaved, deterministic
// order; the cadre of each request is drawn at random (-seed). An error is any answer other than
// the expected status (201 for write, 200 otherwise), a transport error or time-out, or a webhook
// item whose result is not "created"; the first few are printed with request and answer, and any
// error makes the exit status 1.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cadre-training/cadretrain/cmd/internal/apiclient"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Upper bounds on the flags, so that a typo cannot start an unbounded load.
const (
	maxRequests    = 1_000_000
	maxConcurrency = 1024
	maxCadres      = 100_000
	maxDuration    = 30 * time.Minute
)

type options struct {
	url, config, platform string
	hrKey, adminKey       string
	cadres, requests      int
	concurrency           int
	duration, timeout     time.Duration
	catchupTimeout        time.Duration
	sample                int
	batch                 int
	mix                   Mix
	seed                  uint64
	runID                 string
	stdout, stderr        io.Writer
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := options{stdout: stdout, stderr: stderr}
	var mix string
	fs.StringVar(&o.url, "url", "http://127.0.0.1:3000", "base URL of the running server (loopback only)")
	fs.StringVar(&o.config, "config", apiclient.DefaultConfig(), "configuration file (for the platform's webhook secrets)")
	fs.StringVar(&o.platform, "platform", "elearn-demo", "platform id the webhook completions come from")
	fs.StringVar(&o.hrKey, "hr-key", "demo-hr-key-cq-not-for-production", "HR API key covering cn/cq")
	fs.StringVar(&o.adminKey, "admin-key", "demo-admin-key-not-for-production", "admin API key (one POST /v1/recompute for the load's unit before the load)")
	fs.IntVar(&o.cadres, "cadres", 200, "cadre profiles to create")
	fs.IntVar(&o.requests, "requests", 20000, "requests of the load (all kinds)")
	fs.IntVar(&o.concurrency, "concurrency", 64, "requests in flight")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "stop sending new requests after this long")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "time-out of one request")
	fs.DurationVar(&o.catchupTimeout, "catchup-timeout", 60*time.Second, "how long to poll for the stored snapshots and form entries to catch up")
	fs.IntVar(&o.sample, "sample", 20, "cadres whose stored snapshot and form entries are polled for the catch-up time (0: none)")
	fs.IntVar(&o.batch, "batch", 10, "completions per webhook request")
	fs.StringVar(&mix, "mix", DefaultMix.String(), "weights of the kinds of request")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the random choice of cadres")
	fs.StringVar(&o.runID, "run-id", "", "distinguishes this run's cadres, keys and events (default: from the clock)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "loadgen: unexpected arguments %q\n", fs.Args())
		return 2
	}
	var err error
	if o.mix, err = ParseMix(mix); err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 2
	}
	if err := o.check(); err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 2
	}
	if o.runID == "" {
		o.runID = strconv.FormatInt(time.Now().Unix(), 36)
	}
	// The hard limit of the whole run: setup, load, catch-up, with room for in-flight requests.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute+o.duration+o.catchupTimeout+2*o.timeout)
	defer cancel()
	ok, err := loadgen(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 1
	}
	if !ok {
		return 1
	}
	return 0
}

func (o *options) check() error {
	o.url = strings.TrimRight(o.url, "/")
	if err := CheckLoopback(o.url); err != nil {
		return err
	}
	switch {
	case o.cadres < 1 || o.cadres > maxCadres:
		return fmt.Errorf("-cadres must be 1..%d", maxCadres)
	case o.requests < 1 || o.requests > maxRequests:
		return fmt.Errorf("-requests must be 1..%d", maxRequests)
	case o.concurrency < 1 || o.concurrency > maxConcurrency:
		return fmt.Errorf("-concurrency must be 1..%d", maxConcurrency)
	case o.duration <= 0 || o.duration > maxDuration:
		return fmt.Errorf("-duration must be > 0 and at most %s", maxDuration)
	case o.timeout <= 0 || o.timeout > time.Minute:
		return fmt.Errorf("-timeout must be > 0 and at most 1m")
	case o.catchupTimeout < 0 || o.catchupTimeout > 10*time.Minute:
		return fmt.Errorf("-catchup-timeout must be 0..10m")
	case o.sample < 0:
		return fmt.Errorf("-sample must be >= 0")
	case o.batch < 1 || o.batch > 100:
		return fmt.Errorf("-batch must be 1..100 (docs/api.md: at most 100 completions per request)")
	}
	return nil
}

// CheckLoopback accepts only http(s) URLs whose host is a loopback address: 127.0.0.0/8, ::1, or
// the name localhost (which must resolve to loopback addresses only).
func CheckLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-url %q: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("-url %q: must be http:// or https://", raw)
	}
	host := u.Hostname()
	refuse := fmt.Errorf("-url %q: refusing to send load to %q: loadgen only targets the loopback interface (127.0.0.0/8, [::1], localhost)", raw, host)
	if host == "" {
		return refuse
	}
	if strings.EqualFold(host, "localhost") {
		addrs, err := net.LookupIP(host)
		if err != nil || len(addrs) == 0 {
			return fmt.Errorf("-url %q: cannot resolve localhost: %v", raw, err)
		}
		for _, a := range addrs {
			if !a.IsLoopback() {
				return fmt.Errorf("%w (localhost resolves to %s here)", refuse, a)
			}
		}
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return refuse
	}
	return nil
}
