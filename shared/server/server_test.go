package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/bolt"
	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/server"
	"github.com/cadre-training/cadretrain/shared/training"
)

// faultyStore is a real embedded store with replaceable methods, for the failures real parts
// cannot produce on demand.
type faultyStore struct {
	training.Store
	mu             sync.Mutex
	readChanges    func(ctx context.Context, cursor string, limit int) ([]training.Change, string, error)
	putFormEntries func(context.Context, []training.FormEntry) error
}

func (f *faultyStore) ReadChanges(ctx context.Context, cursor string, limit int) ([]training.Change, string, error) {
	f.mu.Lock()
	fn := f.readChanges
	f.mu.Unlock()
	if fn != nil {
		return fn(ctx, cursor, limit)
	}
	return f.Store.ReadChanges(ctx, cursor, limit)
}

func (f *faultyStore) PutFormEntries(ctx context.Context, es []training.FormEntry) error {
	f.mu.Lock()
	fn := f.putFormEntries
	f.mu.Unlock()
	if fn != nil {
		return fn(ctx, es)
	}
	return f.Store.PutFormEntries(ctx, es)
}

func start(t *testing.T, st training.Store, dir string) *server.Server {
	t.Helper()
	cfg, err := config.LoadFile("../../config/demo.json")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Start(context.Background(), server.Options{
		Addr: "127.0.0.1:0", Store: st, StoreKind: "embedded", Config: config.Static(cfg), DataDir: dir,
		Poll: 20 * time.Millisecond, RetryBackoff: 5 * time.Millisecond, MaxRetries: 2,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func openStore(t *testing.T, dir string) *faultyStore {
	t.Helper()
	st, err := bolt.Open(filepath.Join(dir, "cadretrain.db"))
	if err != nil {
		t.Fatal(err)
	}
	return &faultyStore{Store: st}
}

func fullTime(cadre, event string) training.Record {
	return training.Record{
		CadreID: cadre, Source: "platform/p", ExternalID: event, SourceSystem: "p", Kind: training.KindCentralized,
		FullTime: true, StartDate: training.MustDate("2026-03-01"), EndDate: training.MustDate("2026-04-30"),
		Hours: 32000, CourseTitle: "中青年干部培训班", Institution: "市委党校",
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func entries(t *testing.T, st training.Store, cadre string) int {
	es, err := st.ListFormEntries(context.Background(), cadre, training.FormAppraisal)
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// TestPoisonChangeIsDeadLetteredAlone: an undecodable feed entry is dead-lettered at once and the
// feed goes on: the changes after it take effect.
func TestPoisonChangeIsDeadLetteredAlone(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	svc := app.New(st)
	ctx := context.Background()
	if _, _, err := svc.PutCadre(ctx, nil, "c-1", app.ProfileInput{Name: "张三", Unit: "cn/cq", Rank: "principal_staff_1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SubmitRecord(ctx, nil, fullTime("c-1", "e1"), false); err != nil {
		t.Fatal(err)
	}
	// The first read returns a poison entry before the real change.
	st.readChanges = func(ctx context.Context, cursor string, limit int) ([]training.Change, string, error) {
		cs, next, err := st.Store.ReadChanges(ctx, cursor, limit)
		if err != nil || len(cs) == 0 {
			return cs, next, err
		}
		st.mu.Lock()
		st.readChanges = nil
		st.mu.Unlock()
		return append([]training.Change{{Seq: "0", Undecodable: "garbage bytes"}}, cs...), next, nil
	}
	srv := start(t, st, dir)
	waitFor(t, "the form entry after the poison entry", func() bool { return entries(t, st, "c-1") == 1 })
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, server.DeadLetterFile))
	if err != nil || strings.Count(string(b), "\n") != 1 || !strings.Contains(string(b), "garbage bytes") {
		t.Fatalf("dead letters: %q, %v; want the poison entry alone", b, err)
	}
}

// TestFailingChangeIsRetriedThenDeadLetteredAndRedriven: a change whose handling keeps failing
// is retried, dead-lettered, and the feed goes on; `cadred redrive` (server.Redrive) replays it
// once the cause is gone and empties the file.
func TestFailingChangeIsRetriedThenDeadLetteredAndRedriven(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	svc := app.New(st)
	ctx := context.Background()
	for _, id := range []string{"c-1", "c-2"} {
		if _, _, err := svc.PutCadre(ctx, nil, id, app.ProfileInput{Name: "张三", Unit: "cn/cq", Rank: "principal_staff_1"}); err != nil {
			t.Fatal(err)
		}
	}
	var attempts int
	st.putFormEntries = func(ctx context.Context, es []training.FormEntry) error {
		for _, e := range es {
			if e.CadreID == "c-1" {
				st.mu.Lock()
				attempts++
				st.mu.Unlock()
				return errors.New("disk full")
			}
		}
		return st.Store.PutFormEntries(ctx, es)
	}
	for _, r := range []training.Record{fullTime("c-1", "e1"), fullTime("c-2", "e2")} {
		if _, err := svc.SubmitRecord(ctx, nil, r, false); err != nil {
			t.Fatal(err)
		}
	}
	srv := start(t, st, dir)
	waitFor(t, "c-2's entry after c-1's failures", func() bool { return entries(t, st, "c-2") == 1 })
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if attempts != 3 { // the first try and MaxRetries=2 retries
		t.Fatalf("%d attempts, want 3", attempts)
	}
	st2 := openStore(t, dir)
	defer st2.Close()
	var out bytes.Buffer
	res, err := server.Redrive(ctx, app.New(st2), dir, &out)
	if err != nil || res.Replayed != 1 || res.Failed != 0 {
		t.Fatalf("redrive: %+v, %v\n%s", res, err, out.String())
	}
	if got := entries(t, st2, "c-1"); got != 1 {
		t.Fatalf("c-1 has %d appraisal entries after the redrive, want 1", got)
	}
	if _, err := os.Stat(filepath.Join(dir, server.DeadLetterFile)); !os.IsNotExist(err) {
		t.Fatalf("the dead-letter file is still there: %v", err)
	}
}

// TestTricklingClientIsCutOff: a client that sends its body a byte at a time is not held for ever:
// the server answers or closes the connection once the read timeout has passed.
func TestTricklingClientIsCutOff(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.LoadFile("../../config/demo.json")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Start(context.Background(), server.Options{
		Addr: "127.0.0.1:0", Store: openStore(t, dir), StoreKind: "embedded", Config: config.Static(cfg), DataDir: dir,
		ReadTimeout: 300 * time.Millisecond, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT /v1/cadres/c-1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo-hr-key-cq-not-for-production\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
	ended := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, conn) // returns when the server closes the connection
		close(ended)
	}()
	for i := 0; i < 200; i++ { // a byte every 50 ms: at most 10 s, far past the timeout
		select {
		case <-ended:
			return
		case <-time.After(50 * time.Millisecond):
		}
		if _, err := conn.Write([]byte(" ")); err != nil {
			return // the server closed it
		}
	}
	t.Fatal("the server still holds a client that trickles its body 10 s later")
}

// TestScheduleSweepsExpiredJobs: the schedule's full recompute deletes, when it ends, the
// recompute jobs past their retention and keeps the others (docs/operations.md “Recompute jobs”).
func TestScheduleSweepsExpiredJobs(t *testing.T) {
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "cadretrain.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now().UTC()
	for id, expires := range map[string]time.Time{"job_expired": now.Add(-time.Minute), "job_kept": now.Add(training.JobRetention)} {
		j := training.Job{ID: id, Kind: app.JobKindRecompute, State: training.JobDone, CreatedAt: now, UpdatedAt: now, ExpiresAt: expires}
		b, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.PutDoc(ctx, training.Doc{Kind: training.DocJob, ID: id, Body: b}, 0); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.LoadFile("../../config/demo.json")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Start(ctx, server.Options{
		Addr: "127.0.0.1:0", Store: st, StoreKind: "embedded", Config: config.Static(cfg), DataDir: dir,
		ScheduleEvery: 20 * time.Millisecond, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	waitFor(t, "the expired job to be deleted", func() bool {
		_, err := st.GetDoc(ctx, training.DocJob, "job_expired")
		return training.ErrorCode(err) == training.ENOTFOUND
	})
	if _, err := st.GetDoc(ctx, training.DocJob, "job_kept"); err != nil {
		t.Fatalf("the job within its retention: %v", err)
	}
}
