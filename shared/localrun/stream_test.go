package localrun

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cadre-training/cadretrain/shared/training"
)

// feedStore is a store whose change feed the test writes directly (cursor = count read).
type feedStore struct {
	training.Store
	mu      sync.Mutex
	changes []training.Change
}

func (f *feedStore) add(cs ...training.Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range cs {
		c.Seq = strconv.Itoa(len(f.changes) + 1)
		f.changes = append(f.changes, c)
	}
}

func (f *feedStore) ReadChanges(_ context.Context, cursor string, limit int) ([]training.Change, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	if cursor != "" {
		var err error
		if n, err = strconv.Atoi(cursor); err != nil {
			return nil, "", training.Errorf(training.EINVALID, "bad cursor")
		}
	}
	end := min(len(f.changes), n+limit)
	if end <= n {
		return nil, cursor, nil
	}
	out := append([]training.Change(nil), f.changes[n:end]...)
	return out, strconv.Itoa(end), nil
}

func change(cadre, record string, fullTime bool) training.Change {
	r := &training.Record{ID: record, CadreID: cadre, Kind: training.KindCentralized, FullTime: fullTime, Source: "t", ExternalID: record,
		StartDate: training.Date{Year: 2024, Month: 3, Day: 1}, EndDate: training.Date{Year: 2024, Month: 3, Day: 2}, Days: 2, Status: training.StatusActive}
	return training.Change{Kind: training.ChangeInsert, CadreID: cadre, RecordID: record, New: r, At: time.Now()}
}

// streamFn records the record ids of every invocation and answers with decide(ids).
type streamFn struct {
	mu     sync.Mutex
	calls  [][]string
	decide func(ids []string, recs []events.DynamoDBEventRecord) (events.DynamoDBEventResponse, error)
}

func (s *streamFn) fn(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var ids []string
	for _, r := range ev.Records {
		ids = append(ids, r.Change.NewImage["record_id"].String())
	}
	s.mu.Lock()
	s.calls = append(s.calls, ids)
	s.mu.Unlock()
	if s.decide == nil {
		return events.DynamoDBEventResponse{}, nil
	}
	return s.decide(ids, ev.Records)
}

func (s *streamFn) delivered() (all []string, calls [][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.calls {
		all = append(all, c...)
	}
	return all, append([][]string(nil), s.calls...)
}

func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func startStream(tb testing.TB, feed *feedStore, dir string, c Consumer, fn *streamFn) *Server {
	tb.Helper()
	c.Function = "consumer"
	s, err := Start(context.Background(), Options{
		Addr: "127.0.0.1:0", Store: feed, StoreKind: "embedded", Table: "t", Config: MustConfig(tb),
		Spec: &Spec{Consumers: []Consumer{c}}, DataDir: dir, Poll: 10 * time.Millisecond, RetryBackoff: time.Millisecond,
		Handlers: map[string]any{"consumer": fn.fn}, Log: discardLog(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func deadLettered(tb testing.TB, dir string) (ids []string) {
	tb.Helper()
	f, err := os.Open(filepath.Join(dir, DeadLetterFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l deadLetter
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			tb.Fatalf("dead-letter line %s: %v", sc.Text(), err)
		}
		for _, r := range l.Records {
			ids = append(ids, r.Change.NewImage["record_id"].String())
		}
	}
	return ids
}

func TestStreamFiltersAndKeepsOrder(t *testing.T) {
	feed, fn, dir := &feedStore{Store: nopStore{}}, &streamFn{}, t.TempDir()
	s := startStream(t, feed, dir, Consumer{Filters: []string{`{"dynamodb": {"NewImage": {"full_time": {"BOOL": [true]}}}}`}, BatchSize: 3, ReportBatchItemFailures: true}, fn)
	defer s.Close()
	feed.add(change("a", "r1", true), change("b", "r2", false), change("a", "r3", true), change("a", "r4", true), change("b", "r5", true), change("b", "r6", false))
	want := "r1,r3,r4,r5"
	waitFor(t, "delivery", func() bool { got, _ := fn.delivered(); return strings.Join(got, ",") == want })
	waitFor(t, "cursor past the filtered tail", func() bool {
		c, _ := loadCursor(cursorPath(dir, "embedded", "consumer"))
		return c == "6"
	})
	_, calls := fn.delivered()
	for _, c := range calls {
		if len(c) > 3 {
			t.Errorf("batch %v is larger than BatchSize 3", c)
		}
	}
}

func TestStreamRetriesFromFirstFailureThenDeadLetters(t *testing.T) {
	feed, dir := &feedStore{Store: nopStore{}}, t.TempDir()
	fn := &streamFn{decide: func(ids []string, recs []events.DynamoDBEventRecord) (events.DynamoDBEventResponse, error) {
		for i, id := range ids {
			if id == "bad" {
				return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: recs[i].Change.SequenceNumber}}}, nil
			}
		}
		return events.DynamoDBEventResponse{}, nil
	}}
	feed.add(change("a", "r1", true), change("a", "bad", true), change("a", "r3", true))
	s := startStream(t, feed, dir, Consumer{BatchSize: 10, MaxRetries: 2, Bisect: true, ReportBatchItemFailures: true}, fn)
	defer s.Close()
	waitFor(t, "the dead letter", func() bool { return len(deadLettered(t, dir)) > 0 })
	waitFor(t, "r3 delivered after the dead letter", func() bool {
		_, calls := fn.delivered()
		return len(calls) > 0 && strings.Join(calls[len(calls)-1], ",") == "r3"
	})
	if got := strings.Join(deadLettered(t, dir), ","); got != "bad" {
		t.Errorf("dead-lettered %s, want bad", got)
	}
	_, calls := fn.delivered()
	// First the whole batch, then 2 retries from the failure, then the rest.
	want := "r1,bad,r3|bad,r3|bad,r3|r3"
	var got []string
	for _, c := range calls {
		got = append(got, strings.Join(c, ","))
	}
	if strings.Join(got, "|") != want {
		t.Errorf("invocations %s, want %s", strings.Join(got, "|"), want)
	}
}

func TestStreamFunctionErrorBisects(t *testing.T) {
	feed, dir := &feedStore{Store: nopStore{}}, t.TempDir()
	fn := &streamFn{decide: func(ids []string, _ []events.DynamoDBEventRecord) (events.DynamoDBEventResponse, error) {
		for _, id := range ids {
			if id == "poison" {
				return events.DynamoDBEventResponse{}, errors.New("boom")
			}
		}
		return events.DynamoDBEventResponse{}, nil
	}}
	feed.add(change("a", "r1", true), change("b", "r2", true), change("c", "poison", true), change("d", "r4", true))
	s := startStream(t, feed, dir, Consumer{BatchSize: 10, MaxRetries: 1, Bisect: true, ReportBatchItemFailures: true}, fn)
	defer s.Close()
	waitFor(t, "cursor past the batch", func() bool {
		c, _ := loadCursor(cursorPath(dir, "embedded", "consumer"))
		return c == "4"
	})
	if got := strings.Join(deadLettered(t, dir), ","); got != "poison" {
		t.Errorf("dead-lettered %s, want only poison", got)
	}
	ok := map[string]bool{}
	_, calls := fn.delivered()
	for _, c := range calls {
		if len(c) == 1 || !strings.Contains(strings.Join(c, ","), "poison") {
			for _, id := range c {
				ok[id] = true
			}
		}
	}
	for _, id := range []string{"r1", "r2", "r4"} {
		if !ok[id] {
			t.Errorf("%s was never delivered in a successful batch: %v", id, calls)
		}
	}
}

func TestStreamCursorSurvivesRestart(t *testing.T) {
	feed, dir := &feedStore{Store: nopStore{}}, t.TempDir()
	fn := &streamFn{}
	feed.add(change("a", "r1", true), change("a", "r2", true))
	s := startStream(t, feed, dir, Consumer{ReportBatchItemFailures: true}, fn)
	waitFor(t, "first delivery", func() bool { got, _ := fn.delivered(); return len(got) == 2 })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fn2 := &streamFn{}
	feed.add(change("a", "r3", true))
	s2 := startStream(t, feed, dir, Consumer{ReportBatchItemFailures: true}, fn2)
	defer s2.Close()
	waitFor(t, "delivery after restart", func() bool { got, _ := fn2.delivered(); return len(got) > 0 })
	if got, _ := fn2.delivered(); strings.Join(got, ",") != "r3" {
		t.Errorf("after restart delivered %v, want only r3", got)
	}
}

func TestStartRejectsUnsupportedFilter(t *testing.T) {
	feed := &feedStore{Store: nopStore{}}
	_, err := Start(context.Background(), Options{
		Addr: "127.0.0.1:0", Store: feed, StoreKind: "embedded", Config: MustConfig(t), DataDir: t.TempDir(), Log: discardLog(),
		Spec:     &Spec{Consumers: []Consumer{{Function: "c", Filters: []string{`{"a": [{"anything-but": "x"}]}`}}}},
		Handlers: map[string]any{"c": (&streamFn{}).fn},
	})
	if err == nil || !strings.Contains(err.Error(), "anything-but") {
		t.Fatalf("Start: err=%v, want a startup error naming the operator", err)
	}
}

func TestScheduleNextAndPayload(t *testing.T) {
	sd, err := newScheduler(Schedule{Name: "Daily", Expression: "cron(0 2 * * ? *)", Timezone: "Asia/Shanghai", Source: "aws.scheduler",
		Input: `{"source": "aws.scheduler", "detail-type": "Scheduled Event", "time": "<aws.scheduler.scheduled-time>", "detail": {"all": true}}`}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for from, want := range map[string]string{
		"2025-01-01T17:59:00Z": "2025-01-01T18:00:00Z",
		"2025-01-01T18:00:00Z": "2025-01-02T18:00:00Z",
		"2025-01-01T00:00:00Z": "2025-01-01T18:00:00Z",
	} {
		f, _ := time.Parse(time.RFC3339, from)
		if got := sd.next(f).UTC().Format(time.RFC3339); got != want {
			t.Errorf("next(%s)=%s, want %s", from, got, want)
		}
	}
	at, _ := time.Parse(time.RFC3339, "2025-01-01T18:00:00Z")
	b, err := sd.payload(at)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.DetailType != "Scheduled Event" || ev.Source != "aws.scheduler" || !ev.Time.Equal(at) || string(ev.Detail) != `{"all": true}` {
		t.Errorf("payload %s", b)
	}
	rule, _ := newScheduler(Schedule{Name: "R", Expression: "rate(5 minutes)", Source: "aws.events"}, 0)
	b, _ = rule.payload(at)
	if err := json.Unmarshal(b, &ev); err != nil || ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" || ev.Version != "0" ||
		len(ev.Resources) != 1 || ev.ID == "" || ev.AccountID == "" || string(ev.Detail) != "{}" {
		t.Errorf("rule payload %s (%v)", b, err)
	}
	for _, bad := range []string{"cron(0/5 * * * ? *)", "cron(0 2 1 * ? *)", "at(2025-01-01T00:00:00)", "rate(0 minutes)", "rate(5 weeks)"} {
		if _, err := newScheduler(Schedule{Expression: bad}, 0); err == nil {
			t.Errorf("newScheduler(%s) succeeded; want an error", bad)
		}
	}
}

// TestScheduleEveryFiresAndCloseWaitsForAsyncJobs: -schedule-every fires the function with the
// schedule's event, asynchronously; Close waits for the running job.
func TestScheduleEveryFiresAndCloseWaitsForAsyncJobs(t *testing.T) {
	var (
		fired    atomic.Int32
		finished atomic.Bool
		release  = make(chan struct{})
		once     sync.Once
		payloads = make(chan json.RawMessage, 100)
	)
	fn := func(_ context.Context, ev json.RawMessage) (any, error) {
		if fired.Add(1) == 1 {
			payloads <- ev
			<-release
			finished.Store(true)
		}
		return nil, nil
	}
	s := MustStart(t, Spec{Schedules: []Schedule{{Function: "recompute-quota", Name: "Daily", Expression: "cron(0 2 * * ? *)", Timezone: "Asia/Shanghai", Source: "aws.scheduler"}}},
		map[string]any{"recompute-quota": fn}, func(o *Options) { o.ScheduleEvery = 20 * time.Millisecond })
	var ev events.EventBridgeEvent
	select {
	case p := <-payloads:
		if err := json.Unmarshal(p, &ev); err != nil || ev.DetailType != "Scheduled Event" || ev.Source != "aws.scheduler" {
			t.Errorf("scheduled payload %s (%v)", p, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the schedule did not fire")
	}
	done := make(chan error)
	go func() { done <- s.Close() }()
	once.Do(func() { close(release) })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !finished.Load() {
		t.Error("Close returned before the asynchronous job finished")
	}
	if err := (asyncInvoker{s}).InvokeAsync(context.Background(), []byte(`{}`)); err == nil {
		t.Error("InvokeAsync after Close succeeded; want an error")
	}
}

// nopStore satisfies training.Store for tests that only use the feed.
type nopStore struct{ training.Store }

func (nopStore) Close() error { return nil }

func discardLog() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }
