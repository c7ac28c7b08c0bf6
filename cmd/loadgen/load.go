package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cadre-training/cadretrain/cmd/internal/apiclient"
	"github.com/cadre-training/cadretrain/shared/training"
)

// How many errors are printed in full (all are counted).
const maxShownErrors = 5

type loader struct {
	o       options
	api     apiclient.Client
	secrets []string
	today   training.Date
	unit    string
	cadres  []string
	hours   []atomic.Int64 // online 学时 (hundredths) created per cadre during the load
	// fullTime counts the full-time completions created per cadre: each must get its appraisal
	// form entry (docs/rules.md, forms).
	fullTime []atomic.Int64
	// lastWrite is when the last successful write (self-study or webhook) was answered, unix ns.
	lastWrite atomic.Int64

	errMu  sync.Mutex
	errs   int
	shown  []string
	writes atomic.Int64 // records created (self-study + webhook items)
}

func loadgen(ctx context.Context, o options) (bool, error) {
	secrets, err := apiclient.PlatformSecrets(o.config, o.platform)
	if err != nil {
		return false, err
	}
	l := &loader{
		o:       o,
		secrets: secrets,
		today:   training.Today(time.Now()),
		unit:    "cn/cq/load/" + o.runID,
		api: apiclient.Client{Base: o.url, HTTP: &http.Client{Timeout: o.timeout, Transport: &http.Transport{
			MaxIdleConns: o.concurrency + 8, MaxIdleConnsPerHost: o.concurrency + 8, IdleConnTimeout: 30 * time.Second,
		}}},
		hours:    make([]atomic.Int64, o.cadres),
		fullTime: make([]atomic.Int64, o.cadres),
	}
	defer l.api.HTTP.CloseIdleConnections()
	for i := range o.cadres {
		l.cadres = append(l.cadres, fmt.Sprintf("load-%s-%05d", o.runID, i))
	}
	out := o.stdout
	if err := l.health(ctx); err != nil {
		return false, err
	}
	fmt.Fprintf(out, "Server %s, run %s, today %s (UTC+8): %d cadres, %d requests, %d in flight, at most %s, mix %s.\n",
		o.url, o.runID, l.today, o.cadres, o.requests, o.concurrency, o.duration, o.mix)
	start := time.Now()
	if err := l.setup(ctx); err != nil {
		return false, err
	}
	fmt.Fprintf(out, "Setup: %d profiles (PUT) in %s and one POST /v1/recompute for %s.\n", o.cadres, time.Since(start).Round(time.Millisecond), l.unit)

	res := l.load(ctx)
	if res.stoppedEarly {
		fmt.Fprintf(out, "Stopped by -duration %s after %d of %d requests.\n", o.duration, res.sent, o.requests)
	}
	fmt.Fprintf(out, "Load: %d requests in %s (%d records created).\n", res.sent, res.elapsed.Round(time.Millisecond), l.writes.Load())
	WriteTable(out, res.rows)
	ok := l.errs == 0
	if !ok {
		fmt.Fprintf(out, "%d errors; the first %d:\n", l.errs, len(l.shown))
		for _, s := range l.shown {
			fmt.Fprintln(out, "  "+s)
		}
	}

	if o.sample > 0 && o.catchupTimeout > 0 {
		msg, caught := l.catchUp(ctx)
		fmt.Fprintln(out, msg)
		ok = ok && caught
	}
	return ok, nil
}

// recordErr counts an error and keeps its description if it is one of the first few.
func (l *loader) recordErr(desc string) {
	l.errMu.Lock()
	defer l.errMu.Unlock()
	l.errs++
	if len(l.shown) < maxShownErrors {
		l.shown = append(l.shown, desc)
	}
}

func clip(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		return s[:n] + fmt.Sprintf("… (%d bytes)", len(s))
	}
	return s
}

// expect is Do that turns any other status into an error naming the request and the answer.
func (l *loader) expect(ctx context.Context, method, path, key string, body []byte, want int) ([]byte, error) {
	st, b, err := l.api.Do(ctx, method, path, key, nil, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if st != want {
		return nil, fmt.Errorf("%s %s %s: answered %d %s (want %d)", method, path, clip(body, 300), st, clip(b, 500), want)
	}
	return b, nil
}

func (l *loader) health(ctx context.Context) error {
	hc, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, b, err := l.api.Do(hc, http.MethodGet, "/v1/health", "", nil, nil)
	if err != nil {
		return fmt.Errorf("cannot reach the server at %s (%v): start it with make run, or use make load, which starts its own", l.o.url, err)
	}
	var h struct{ Status string }
	if st != http.StatusOK || json.Unmarshal(b, &h) != nil || h.Status != "ok" {
		return fmt.Errorf("%s/v1/health answered %d %s: is this the cadre server?", l.o.url, st, clip(b, 200))
	}
	return nil
}

var (
	townshipRanks = []string{"township_principal", "township_deputy", "principal_staff_1", "一级主任科员", "staff_1", "clerk"}
	countyRanks   = []string{"county_principal", "county_deputy", "四级调研员", "researcher_2"}
)

// setup creates the profiles (a quarter of them county level, every tenth a leadership member)
// in four sub-units, then has the unit recomputed so that every cadre has a stored snapshot.
func (l *loader) setup(ctx context.Context) error {
	jobs := make(chan int)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	for range min(l.o.concurrency, 16) {
		wg.Go(func() {
			for i := range jobs {
				rank := townshipRanks[i%len(townshipRanks)]
				if i%4 == 3 {
					rank = countyRanks[i%len(countyRanks)]
				}
				body, _ := json.Marshal(map[string]any{
					"name": fmt.Sprintf("压测干部%05d", i), "unit": fmt.Sprintf("%s/g%d", l.unit, i%4), "rank": rank,
					"rank_effective_on": l.today.AddDays(-400 - i%300).String(), "leadership_member": i%10 == 0,
					"joined_on": l.today.AddDays(-3000 - i%1000).String(),
				})
				if _, err := l.expect(ctx, http.MethodPut, "/v1/cadres/"+l.cadres[i], l.o.hrKey, body, http.StatusCreated); err != nil {
					select {
					case errc <- err:
					default:
					}
				}
			}
		})
	}
	for i := range l.cadres {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errc:
		return fmt.Errorf("setup: %w", err)
	default:
	}
	body, _ := json.Marshal(map[string]string{"unit": l.unit})
	b, err := l.expect(ctx, http.MethodPost, "/v1/recompute", l.o.adminKey, body, http.StatusOK)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	var r struct{ Recomputed, Failed int }
	if json.Unmarshal(b, &r) != nil || r.Recomputed != l.o.cadres || r.Failed != 0 {
		return fmt.Errorf("setup: POST /v1/recompute %s answered %s, want %d recomputed", body, clip(b, 300), l.o.cadres)
	}
	return nil
}

type loadResult struct {
	rows         []Summary // per kind with a positive weight, then "all"
	sent         int
	elapsed      time.Duration
	stoppedEarly bool
}

// load runs the requests on -concurrency workers. A worker takes the next request of the
// schedule until all are taken or -duration has passed (requests in flight then finish).
func (l *loader) load(ctx context.Context) loadResult {
	sched := l.o.mix.Schedule(l.o.requests)
	type workerStats struct {
		lat  [numKinds][]time.Duration
		errs [numKinds]int
	}
	stats := make([]workerStats, l.o.concurrency)
	var next atomic.Int64
	start := time.Now()
	stopAt := start.Add(l.o.duration)
	var wg sync.WaitGroup
	for w := range stats {
		ws := &stats[w]
		rng := rand.New(rand.NewPCG(l.o.seed, uint64(w)))
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(sched) || ctx.Err() != nil || time.Now().After(stopAt) {
					return
				}
				k := sched[i]
				t0 := time.Now()
				err := l.one(ctx, k, i, rng)
				ws.lat[k] = append(ws.lat[k], time.Since(t0))
				if err != nil {
					ws.errs[k]++
					l.recordErr(fmt.Sprintf("#%d %s: %v", i, k, err))
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	res := loadResult{elapsed: elapsed}
	var all []time.Duration
	allErrs := 0
	for k := range numKinds {
		var lat []time.Duration
		errs := 0
		for _, ws := range stats {
			lat = append(lat, ws.lat[k]...)
			errs += ws.errs[k]
		}
		all = append(all, lat...)
		allErrs += errs
		if l.o.mix[k] > 0 {
			res.rows = append(res.rows, Summarize(k.String(), lat, errs, elapsed))
		}
	}
	res.sent = len(all)
	res.stoppedEarly = res.sent < len(sched)
	res.rows = append(res.rows, Summarize("all", all, allErrs, elapsed))
	return res
}

func (l *loader) wrote() {
	now := time.Now().UnixNano()
	for {
		old := l.lastWrite.Load()
		if now <= old || l.lastWrite.CompareAndSwap(old, now) {
			return
		}
	}
}

// one sends request number i of kind k and checks its answer.
func (l *loader) one(ctx context.Context, k Kind, i int, rng *rand.Rand) error {
	c := rng.IntN(len(l.cadres))
	id := l.cadres[c]
	switch k {
	case KindWrite:
		h := training.Hours(50 + 25*rng.IntN(11)) // 0.5 to 3 学时
		body, _ := json.Marshal(map[string]any{
			"hours": h, "studied_on": l.today, "course_title": "《信访工作条例》解读（压测）", "source": "loadgen",
		})
		path := "/v1/cadres/" + id + "/self-study"
		key := fmt.Sprintf("loadgen-%s-%d", l.o.runID, i)
		st, b, err := l.api.Do(ctx, http.MethodPost, path, l.o.hrKey, http.Header{"Idempotency-Key": {key}}, body)
		if err == nil && st == http.StatusCreated {
			l.hours[c].Add(int64(h))
			l.writes.Add(1)
			l.wrote()
			return nil
		}
		return describe(http.MethodPost, path, "Idempotency-Key: "+key, body, st, b, err, http.StatusCreated)
	case KindFresh, KindStored:
		path := "/v1/cadres/" + id + "/quota-status"
		if k == KindFresh {
			path += "?as_of=" + l.today.String()
		}
		st, b, err := l.api.Do(ctx, http.MethodGet, path, l.o.hrKey, nil, nil)
		if err == nil && st == http.StatusOK {
			return nil
		}
		return describe(http.MethodGet, path, "", nil, st, b, err, http.StatusOK)
	case KindWebhook:
		return l.webhook(ctx, i, rng)
	}
	return fmt.Errorf("unknown kind %d", k)
}

func describe(method, path, hdr string, body []byte, st int, answer []byte, err error, want int) error {
	req := method + " " + path
	if hdr != "" {
		req += " [" + hdr + "]"
	}
	if body != nil {
		req += " " + clip(body, 300)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", req, err)
	}
	return fmt.Errorf("%s → %d (want %d) %s", req, st, want, clip(answer, 500))
}

// completion is one item of a webhook batch.
type completion struct {
	EventID         string         `json:"event_id"`
	CadreID         string         `json:"cadre_id"`
	Kind            string         `json:"kind"`
	FullTime        bool           `json:"full_time"`
	CourseID        string         `json:"course_id"`
	CourseTitle     string         `json:"course_title"`
	Institution     string         `json:"institution"`
	InstitutionType string         `json:"institution_type"`
	StartDate       training.Date  `json:"start_date"`
	EndDate         training.Date  `json:"end_date"`
	Days            int            `json:"days"`
	Hours           training.Hours `json:"hours"`
	Assessment      string         `json:"assessment"`
}

// webhook sends a signed batch of -batch centralized completions (3-day classes that ended in the
// last 60 days; every other one full-time, which also writes form entries).
func (l *loader) webhook(ctx context.Context, i int, rng *rand.Rand) error {
	items := make([]completion, l.o.batch)
	for j := range items {
		end := l.today.AddDays(-1 - rng.IntN(60))
		items[j] = completion{
			EventID: fmt.Sprintf("load-%s-%d-%d", l.o.runID, i, j), CadreID: l.cadres[rng.IntN(len(l.cadres))],
			Kind: "centralized", FullTime: j%2 == 0, CourseID: fmt.Sprintf("cls-load-%d", i%50),
			CourseTitle: "信访干部业务能力提升班（压测）", Institution: "中共重庆市委党校（重庆行政学院）", InstitutionType: "party_school",
			StartDate: end.AddDays(-2), EndDate: end, Days: 3, Hours: training.HoursOf(24), Assessment: "passed",
		}
	}
	body, _ := json.Marshal(map[string]any{"completions": items})
	msgID := fmt.Sprintf("msg_load_%s_%d", l.o.runID, i)
	hdr, err := apiclient.PlatformHeaders(l.secrets, i, msgID, body)
	if err != nil {
		return err
	}
	path := "/v1/webhooks/completions/" + l.o.platform
	st, b, err := l.api.Do(ctx, http.MethodPost, path, "", hdr, body)
	if err != nil || st != http.StatusOK {
		return describe(http.MethodPost, path, "webhook-id: "+msgID, body, st, b, err, http.StatusOK)
	}
	var resp struct {
		Results []struct {
			EventID string          `json:"event_id"`
			Status  string          `json:"status"`
			Errors  json.RawMessage `json:"errors"`
		}
	}
	if err := json.Unmarshal(b, &resp); err != nil || len(resp.Results) != len(items) {
		return describe(http.MethodPost, path, "webhook-id: "+msgID, body, st, b, errors.New("unexpected answer "+clip(b, 500)), http.StatusOK)
	}
	created := 0
	for j, r := range resp.Results {
		if r.Status != "created" {
			continue
		}
		created++
		if it := items[j]; it.FullTime && r.EventID == it.EventID {
			l.fullTime[l.index(it.CadreID)].Add(1)
		}
	}
	l.writes.Add(int64(created))
	if created > 0 {
		l.wrote()
	}
	if created != len(items) {
		return fmt.Errorf("POST %s [webhook-id: %s]: %d of %d completions not created: %s", path, msgID, len(items)-created, len(items), clip(b, 500))
	}
	return nil
}

// index is the position of a cadre id of this run in l.cadres.
func (l *loader) index(id string) int {
	n, _ := strconv.Atoi(id[strings.LastIndexByte(id, '-')+1:])
	return n
}

// catchUp polls, for a sample of the cadres written to, the stored snapshot until it equals a
// fresh evaluation as of today (whose online_annual achieved hours must also equal what this run
// wrote: the cadres start with no records) and the appraisal form entries until there is one per
// full-time completion created. It reports how long after the last acknowledged write the last
// of them caught up: the lag of the change feed (snapshots and form entries are written by it).
func (l *loader) catchUp(ctx context.Context) (string, bool) {
	last := time.Unix(0, l.lastWrite.Load())
	if l.lastWrite.Load() == 0 {
		return "Catch-up: nothing was written.", true
	}
	var sample []int
	step := max(1, len(l.cadres)/l.o.sample)
	for c := 0; c < len(l.cadres) && len(sample) < l.o.sample; c += step {
		if l.hours[c].Load() > 0 || l.fullTime[c].Load() > 0 {
			sample = append(sample, c)
		}
	}
	if len(sample) == 0 {
		return "Catch-up: no sampled cadre was written to.", true
	}
	want := make([]training.Status, len(l.cadres))
	if err := parallel(sample, func(c int) error {
		b, err := l.expect(ctx, http.MethodGet, "/v1/cadres/"+l.cadres[c]+"/quota-status?as_of="+l.today.String(), l.o.hrKey, nil, http.StatusOK)
		if err == nil {
			err = json.Unmarshal(b, &want[c])
		}
		if err != nil {
			return fmt.Errorf("fresh evaluation failed: %v", err)
		}
		if got, exp := onlineHours(want[c]), training.Hours(l.hours[c].Load()); got != exp {
			return fmt.Errorf("%s: a fresh evaluation counts %s online 学时, but this run created %s", l.cadres[c], got, exp)
		}
		return nil
	}); err != nil {
		return "Catch-up: " + err.Error(), false
	}
	// current reports whether cadre c's stored snapshot and form entries have caught up.
	current := func(c int) (bool, error) {
		var snap training.Status
		b, err := l.expect(ctx, http.MethodGet, "/v1/cadres/"+l.cadres[c]+"/quota-status", l.o.hrKey, nil, http.StatusOK)
		if err != nil {
			return false, err
		}
		if json.Unmarshal(b, &snap) != nil || snap.AsOf != l.today || !reflect.DeepEqual(snap.Requirements, want[c].Requirements) {
			return false, nil
		}
		if l.fullTime[c].Load() == 0 {
			return true, nil
		}
		var entries struct {
			Entries []json.RawMessage `json:"entries"`
		}
		b, err = l.expect(ctx, http.MethodGet, "/v1/cadres/"+l.cadres[c]+"/appraisal-records", l.o.hrKey, nil, http.StatusOK)
		if err != nil {
			return false, err
		}
		if err := json.Unmarshal(b, &entries); err != nil {
			return false, err
		}
		return int64(len(entries.Entries)) >= l.fullTime[c].Load(), nil
	}
	pollStart := time.Now()
	deadline := pollStart.Add(l.o.catchupTimeout)
	var lastCaught time.Time
	polls := 0
	behind := sample
	for len(behind) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		polls++
		var mu sync.Mutex
		var still []int
		if err := parallel(behind, func(c int) error {
			ok, err := current(c)
			mu.Lock()
			defer mu.Unlock()
			if ok {
				lastCaught = time.Now()
			} else if err == nil {
				still = append(still, c)
			}
			return err
		}); err != nil {
			return "Catch-up: " + err.Error(), false
		}
		behind = still
		if len(behind) > 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	var entries int64
	for _, c := range sample {
		entries += l.fullTime[c].Load()
	}
	what := fmt.Sprintf("the stored snapshots of %d cadres and their %d appraisal form entries", len(sample), entries)
	if len(behind) > 0 {
		return fmt.Sprintf("Catch-up: %d of %d sampled cadres still behind %s after the last write (polled for %s).",
			len(behind), len(sample), time.Since(last).Round(time.Millisecond), l.o.catchupTimeout), false
	}
	note := ""
	if polls == 1 {
		note = " (all current at the first poll, which began " + pollStart.Sub(last).Round(time.Millisecond).String() + " after the last write: an upper bound)"
	}
	return fmt.Sprintf("Catch-up: %s matched a fresh evaluation %s after the last acknowledged write%s.",
		what, lastCaught.Sub(last).Round(time.Millisecond), note), true
}

// parallel calls fn for each of cs, 16 at a time, and returns the first error.
func parallel(cs []int, fn func(c int) error) error {
	jobs := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range min(16, len(cs)) {
		wg.Go(func() {
			for c := range jobs {
				if err := fn(c); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for _, c := range cs {
		jobs <- c
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func onlineHours(s training.Status) training.Hours {
	for _, r := range s.Requirements {
		if r.ID == "online_annual" && r.Achieved.Hours != nil {
			return *r.Achieved.Hours
		}
	}
	return -1
}
