// Command demo loads a small, realistic data set into a running server through its public API
// (docs/api.md) and prints what HR would see: each cadre's quota status, counts per state, a summary per
// unit, and the entries written into the 干部任免审批表 and 年度考核登记表.
//
//	make run                 # in one terminal: the local server on 127.0.0.1:3000
//	go run ./cmd/demo        # in another: load and print (safe to run again: replays)
//	make demo                # both at once, on a fresh data directory and a free port
//
// The data (see data.go) is deterministic for a given day: 4 units, 50 cadres of mixed ranks
// (codes and Chinese titles), rank changes, a year and a half of online self-study (HR endpoint,
// with Idempotency-Key) and platform completions (signed webhooks, in batches), full-time
// party-school classes of several lengths, a failed assessment and a voided record.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cadre-training/cadretrain/cmd/internal/apiclient"
	"github.com/cadre-training/cadretrain/shared/training"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	url, config, platform  string
	keyCQ, keySC, adminKey string
	wait                   time.Duration
	concurrency            int
	today                  training.Date
	stdout                 io.Writer
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := options{stdout: stdout}
	fs.StringVar(&o.url, "url", "http://127.0.0.1:3000", "base URL of the running server")
	fs.StringVar(&o.config, "config", apiclient.DefaultConfig(), "configuration file (for the platform's webhook secrets)")
	fs.StringVar(&o.platform, "platform", "elearn-demo", "platform id the completions come from")
	fs.StringVar(&o.keyCQ, "hr-key-cq", "demo-hr-key-cq-not-for-production", "HR API key for units under cn/cq")
	fs.StringVar(&o.keySC, "hr-key-sc", "demo-hr-key-sc-not-for-production", "HR API key for units under cn/sc")
	fs.StringVar(&o.adminKey, "admin-key", "demo-admin-key-not-for-production", "admin API key (POST /v1/recompute if snapshots lag)")
	fs.DurationVar(&o.wait, "wait", 15*time.Second, "how long to wait for the stored snapshots and form entries to catch up")
	// Four in flight: loading takes about a second. (The local server used to mix up the responses
	// of concurrent requests to one function; it gives each its own environment since 736215f.)
	fs.IntVar(&o.concurrency, "concurrency", 4, "requests in flight")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "demo: unexpected arguments %q\n", fs.Args())
		return 2
	}
	o.url = strings.TrimRight(o.url, "/")
	o.today = training.Today(time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := demo(ctx, o); err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 1
	}
	return 0
}

// view is what the demo learned about one cadre.
type view struct {
	now, last   training.Status
	appointment []training.FormEntry
	appraisal   []training.FormEntry
}

type demoRun struct {
	o      options
	c      *client
	ds     *Dataset
	keys   map[string]string // cadre id → HR key
	counts struct {
		sync.Mutex
		created, replayed, conflicts int
	}
	records map[string]string // event id → record id
	mu      sync.Mutex
	views   map[string]*view
}

func demo(ctx context.Context, o options) error {
	secrets, err := apiclient.PlatformSecrets(o.config, o.platform)
	if err != nil {
		return err
	}
	d := &demoRun{
		o:       o,
		c:       &client{api: apiclient.Client{Base: o.url, HTTP: &http.Client{Timeout: 20 * time.Second}}, platform: o.platform, secrets: secrets},
		ds:      Generate(o.today),
		keys:    map[string]string{},
		records: map[string]string{},
		views:   map[string]*view{},
	}
	for _, c := range d.ds.Cadres {
		d.keys[c.ID] = map[string]string{"cq": o.keyCQ, "sc": o.keySC}[Units[c.UnitIdx].Key]
	}
	if err := d.health(ctx); err != nil {
		return err
	}
	start := time.Now()
	if err := d.load(ctx); err != nil {
		return err
	}
	out := o.stdout
	fmt.Fprintf(out, "Loaded %d cadres in %d units, %d self-study records and %d platform completions (%d created, %d replayed, %d conflicts), voided %d, in %.1fs.\n",
		len(d.ds.Cadres), len(Units), len(d.ds.SelfStudy), len(d.ds.Completions)+len(d.ds.Single),
		d.counts.created, d.counts.replayed, d.counts.conflicts, len(d.ds.Voids), time.Since(start).Seconds())
	if d.counts.conflicts > 0 {
		fmt.Fprintln(out, "  (conflicts: this server already holds demo data generated on another day with the same keys; those items were left as they were)")
	}
	waitStart := time.Now()
	pending, err := d.waitCurrent(ctx)
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		fmt.Fprintf(out, "Stored snapshots and form entries are current (waited %.1fs).\n", time.Since(waitStart).Seconds())
	}
	if err := d.fetchLastYear(ctx); err != nil {
		return err
	}
	d.print(out)
	if len(pending) > 0 {
		return fmt.Errorf("after %s (and POST /v1/recompute) the stored snapshot or form entries of %d cadres still differ from the loaded records: %s",
			o.wait, len(pending), strings.Join(pending, ", "))
	}
	return nil
}

func (d *demoRun) health(ctx context.Context) error {
	hc, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, b, err := d.c.do(hc, http.MethodGet, "/v1/health", "", nil, nil, http.StatusOK)
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return fmt.Errorf("%s/v1/health answered %d: is this the cadre server? (start it with make run)", d.o.url, ae.Status)
	case err != nil:
		return fmt.Errorf("cannot reach the server at %s (%v): start it with make run, or use make demo, which starts its own", d.o.url, err)
	}
	var h struct{ Status, Store string }
	if json.Unmarshal(b, &h) != nil || h.Status != "ok" {
		return fmt.Errorf("%s/v1/health answered %s: is this the cadre server? (start it with make run)", d.o.url, b)
	}
	fmt.Fprintf(d.o.stdout, "Server %s is up (store: %s). Today is %s (UTC+8).\n", d.o.url, h.Store, d.o.today)
	return nil
}

func (d *demoRun) count(created bool) {
	d.counts.Lock()
	defer d.counts.Unlock()
	if created {
		d.counts.created++
	} else {
		d.counts.replayed++
	}
}

// load sends the data set: profiles, rank changes, self-study, webhook completions, voids.
func (d *demoRun) load(ctx context.Context) error {
	n := max(1, d.o.concurrency)
	var jobs []func() error
	for _, c := range d.ds.Cadres {
		jobs = append(jobs, func() error {
			if c.Change != nil {
				// Rank history is append-only: on a second run the cadre already holds the
				// later rank, and PUTting the earlier one again would be refused.
				st, _, err := d.c.do(ctx, http.MethodGet, "/v1/cadres/"+c.ID, d.keys[c.ID], nil, nil, http.StatusOK, http.StatusNotFound)
				if err != nil || st == http.StatusOK {
					return err
				}
			}
			_, _, err := d.c.do(ctx, http.MethodPut, "/v1/cadres/"+c.ID, d.keys[c.ID], nil, c.Profile, http.StatusOK, http.StatusCreated)
			return err
		})
	}
	if err := parallel(n, jobs); err != nil {
		return fmt.Errorf("profiles: %w", err)
	}
	jobs = nil
	for _, c := range d.ds.Cadres {
		if c.Change != nil {
			jobs = append(jobs, func() error {
				_, _, err := d.c.do(ctx, http.MethodPut, "/v1/cadres/"+c.ID, d.keys[c.ID], nil, c.Change, http.StatusOK)
				return err
			})
		}
	}
	if err := parallel(n, jobs); err != nil {
		return fmt.Errorf("rank changes: %w", err)
	}

	jobs = nil
	for _, s := range d.ds.SelfStudy {
		jobs = append(jobs, func() error {
			h := http.Header{"Idempotency-Key": {s.IdempotencyKey}}
			st, _, err := d.c.do(ctx, http.MethodPost, "/v1/cadres/"+s.CadreID+"/self-study", d.keys[s.CadreID], h, s,
				http.StatusCreated, http.StatusOK, http.StatusConflict)
			if err != nil {
				return err
			}
			if st == http.StatusConflict {
				d.counts.Lock()
				d.counts.conflicts++
				d.counts.Unlock()
				return nil
			}
			d.count(st == http.StatusCreated)
			return nil
		})
	}
	if err := parallel(n, jobs); err != nil {
		return fmt.Errorf("self-study: %w", err)
	}

	// Completions: batches of BatchSize, signed alternately with the platform's two secrets
	// (a rotation), then the single completions one request each.
	type req struct {
		body   []byte
		events []Completion
		batch  bool
	}
	var reqs []req
	for i := 0; i < len(d.ds.Completions); i += BatchSize {
		items := d.ds.Completions[i:min(i+BatchSize, len(d.ds.Completions))]
		b, err := json.Marshal(map[string][]Completion{"completions": items})
		if err != nil {
			return err
		}
		reqs = append(reqs, req{b, items, true})
	}
	for _, c := range d.ds.Single {
		b, err := json.Marshal(c)
		if err != nil {
			return err
		}
		reqs = append(reqs, req{b, []Completion{c}, false})
	}
	jobs = nil
	for i, r := range reqs {
		jobs = append(jobs, func() error {
			msgID := fmt.Sprintf("msg_demo_%s_%03d", d.o.today, i)
			st, b, err := d.c.webhook(ctx, msgID, i, r.body)
			if err != nil {
				return err
			}
			if st == http.StatusConflict { // a single completion with other content under its event_id
				d.counts.Lock()
				d.counts.conflicts++
				d.counts.Unlock()
				return nil
			}
			var resp struct {
				Results []struct {
					EventID  string `json:"event_id"`
					Status   string `json:"status"`
					RecordID string `json:"record_id"`
					Errors   []training.FieldError
				} `json:"results"`
			}
			if err := json.Unmarshal(b, &resp); err != nil || len(resp.Results) != len(r.events) {
				return fmt.Errorf("webhook %s: unexpected answer %s", msgID, b)
			}
			for _, res := range resp.Results {
				switch res.Status {
				case "created", "duplicate":
					d.count(res.Status == "created")
					d.mu.Lock()
					d.records[res.EventID] = res.RecordID
					d.mu.Unlock()
				case "conflict":
					d.counts.Lock()
					d.counts.conflicts++
					d.counts.Unlock()
				default:
					return fmt.Errorf("webhook %s: completion %s was %s: %v", msgID, res.EventID, res.Status, res.Errors)
				}
			}
			return nil
		})
	}
	if err := parallel(n, jobs); err != nil {
		return fmt.Errorf("completions: %w", err)
	}
	return d.voidRecords(ctx)
}

// voidRecords voids the records named in the data set. It first waits for the record's form
// entries (written asynchronously after the record is stored), so the demo shows an entry that is
// withdrawn rather than one that never was.
func (d *demoRun) voidRecords(ctx context.Context) error {
	var jobs []func() error
	for _, v := range d.ds.Voids {
		rid := d.records[v.EventID]
		if rid == "" {
			continue // a conflict: the server keeps another version of this event
		}
		jobs = append(jobs, func() error {
			key := d.keys[v.CadreID]
			deadline := time.Now().Add(d.o.wait)
			for {
				var es struct{ Entries []training.FormEntry }
				if err := d.c.getJSON(ctx, "/v1/cadres/"+v.CadreID+"/appointment-records", key, &es); err != nil {
					return err
				}
				if hasEntry(es.Entries, rid) || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			_, _, err := d.c.do(ctx, http.MethodPost, "/v1/records/"+rid+"/void", key, nil, map[string]string{"reason": v.Reason}, http.StatusOK)
			return err
		})
	}
	if err := parallel(max(1, d.o.concurrency), jobs); err != nil {
		return fmt.Errorf("void: %w", err)
	}
	return nil
}

func hasEntry(es []training.FormEntry, recordID string) bool {
	for _, e := range es {
		if e.RecordID == recordID {
			return true
		}
	}
	return false
}

// waitCurrent polls until every cadre's stored snapshot (GET quota-status without as_of) equals a
// fresh evaluation as of today and its form entries are all there. If that takes longer than
// -wait, it asks for a full recompute (admin) and polls once more. It returns the cadres still
// not current.
func (d *demoRun) waitCurrent(ctx context.Context) ([]string, error) {
	expect := d.ds.ExpectedForms()
	pending := map[string]bool{}
	for _, c := range d.ds.Cadres {
		pending[c.ID] = true
	}
	poll := func(wait time.Duration) error {
		deadline := time.Now().Add(wait)
		for len(pending) > 0 {
			var jobs []func() error
			var mu sync.Mutex
			for id := range pending {
				jobs = append(jobs, func() error {
					ok, err := d.current(ctx, id, expect[id])
					if ok {
						mu.Lock()
						delete(pending, id)
						mu.Unlock()
					}
					return err
				})
			}
			if err := parallel(max(1, d.o.concurrency), jobs); err != nil {
				return err
			}
			if len(pending) == 0 || time.Now().After(deadline) {
				return nil
			}
			time.Sleep(250 * time.Millisecond)
		}
		return nil
	}
	if err := poll(d.o.wait); err != nil {
		return nil, err
	}
	if len(pending) > 0 {
		fmt.Fprintf(d.o.stdout, "%d stored snapshots are not current after %s; asking for POST /v1/recompute {\"all\": true}.\n", len(pending), d.o.wait)
		if _, _, err := d.c.do(ctx, http.MethodPost, "/v1/recompute", d.o.adminKey, nil, map[string]bool{"all": true}, http.StatusOK, http.StatusAccepted); err != nil {
			return nil, fmt.Errorf("recompute: %w", err)
		}
		if err := poll(d.o.wait); err != nil {
			return nil, err
		}
	}
	var out []string
	for id := range pending {
		out = append(out, id)
	}
	sort.Strings(out)
	return out, nil
}

// current fetches a cadre's snapshot and form entries and reports whether they reflect the loaded
// records. What it fetched is kept for printing.
func (d *demoRun) current(ctx context.Context, id string, fc FormCounts) (bool, error) {
	key := d.keys[id]
	v := &view{}
	var fresh training.Status
	if err := d.c.getJSON(ctx, "/v1/cadres/"+id+"/quota-status", key, &v.now); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			return false, nil // no snapshot yet
		}
		return false, err
	}
	if err := d.c.getJSON(ctx, "/v1/cadres/"+id+"/quota-status?as_of="+d.o.today.String(), key, &fresh); err != nil {
		return false, err
	}
	var app, appr struct{ Entries []training.FormEntry }
	if err := d.c.getJSON(ctx, "/v1/cadres/"+id+"/appointment-records", key, &app); err != nil {
		return false, err
	}
	v.appointment = app.Entries
	for _, y := range []int{d.o.today.Year, d.o.today.Year - 1} {
		if err := d.c.getJSON(ctx, fmt.Sprintf("/v1/cadres/%s/appraisal-records?year=%d", id, y), key, &appr); err != nil {
			return false, err
		}
		v.appraisal = append(v.appraisal, appr.Entries...)
		if len(appr.Entries) < fc.Appraisal[y] {
			return false, nil
		}
	}
	d.mu.Lock()
	d.views[id] = v
	d.mu.Unlock()
	withdrawn := 0
	for _, e := range app.Entries {
		if e.Status == training.EntryWithdrawn {
			withdrawn++
		}
	}
	if len(app.Entries) < fc.Appointment || withdrawn < fc.Withdrawn {
		return false, nil
	}
	return sameStatus(v.now, fresh, d.o.today), nil
}

// sameStatus reports whether a stored snapshot says what a fresh evaluation says.
func sameStatus(snap, fresh training.Status, today training.Date) bool {
	return snap.AsOf == today && snap.Overall == fresh.Overall && snap.Category == fresh.Category &&
		snap.AppraisalExcellentEligible == fresh.AppraisalExcellentEligible &&
		reflect.DeepEqual(snap.Requirements, fresh.Requirements)
}

// fetchLastYear evaluates everyone as of the last day of the previous year (closed windows: met or unmet).
func (d *demoRun) fetchLastYear(ctx context.Context) error {
	asOf := training.Date{Year: d.o.today.Year - 1, Month: time.December, Day: 31}
	var jobs []func() error
	for _, c := range d.ds.Cadres {
		d.mu.Lock()
		v := d.views[c.ID]
		if v == nil {
			v = &view{}
			d.views[c.ID] = v
		}
		d.mu.Unlock()
		jobs = append(jobs, func() error {
			return d.c.getJSON(ctx, "/v1/cadres/"+c.ID+"/quota-status?as_of="+url.QueryEscape(asOf.String()), d.keys[c.ID], &v.last)
		})
	}
	return parallel(max(1, d.o.concurrency), jobs)
}
