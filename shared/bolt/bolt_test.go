package bolt

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/storetest"
	"github.com/cadre-training/cadretrain/shared/training"
	bbolt "go.etcd.io/bbolt"
)

// MustOpen opens a store in a fresh temp file and closes it when the test ends.
func MustOpen(tb testing.TB, opts ...Option) (*Store, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "store.db")
	s, err := Open(path, opts...)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s, path
}

func TestStore(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"GroupCommit", nil},
		{"GroupCommitDelay", []Option{WithMaxBatchDelay(time.Millisecond), WithMaxBatchSize(4)}},
		{"WithoutGroupCommit", []Option{WithoutGroupCommit()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) training.Store {
				s, _ := MustOpen(t, tc.opts...)
				return s
			})
		})
	}
}

func TestDurability(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	end := training.MustDate("2025-02-28")
	const n = 200
	var wg sync.WaitGroup
	acked := make([]training.Record, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := storetest.NewRecord(fmt.Sprintf("c%d", i%7), "platform/a", fmt.Sprint(i), end)
			if _, outcome, err := s.CreateRecord(ctx, r); err != nil || outcome != training.Created {
				t.Errorf("CreateRecord %d: outcome=%s, err=%v", i, outcome, err)
				return
			}
			acked[i] = r
		}()
	}
	wg.Wait()
	c := storetest.MustPutCadre(t, s, storetest.NewCadre("c1", "cn/cq"), 0)
	if _, _, err := s.VoidRecord(ctx, acked[0].ID, training.Voiding{Reason: "r", By: "b", At: storetest.T0}); err != nil {
		t.Fatalf("VoidRecord: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.PutCadre(ctx, c, 1); !errors.Is(err, errClosed) {
		t.Fatalf("PutCadre after Close: %v, want errClosed", err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	for i, r := range acked {
		got, err := s.GetRecord(ctx, r.ID)
		if err != nil {
			t.Fatalf("record %d after reopen: %v", i, err)
		}
		if got, want := got.ContentHash, r.ContentHash; got != want {
			t.Fatalf("record %d hash=%s, want %s", i, got, want)
		}
	}
	if got, err := s.GetRecord(ctx, acked[0].ID); err != nil || got.Status != training.StatusVoided {
		t.Fatalf("voided record after reopen: status=%s, err=%v", got.Status, err)
	}
	if got, err := s.GetCadre(ctx, "c1"); err != nil || got.Version != 1 {
		t.Fatalf("cadre after reopen: version=%d, err=%v", got.Version, err)
	}
	changes, _, err := s.ReadChanges(ctx, "", 1000)
	if err != nil {
		t.Fatalf("ReadChanges: %v", err)
	}
	if got, want := len(changes), n+1; got != want {
		t.Fatalf("changes after reopen=%d, want %d", got, want)
	}
	// The sequence goes on after a reopen.
	r := storetest.MustCreateRecord(t, s, storetest.NewRecord("c1", "platform/a", "after", end))
	more, _, err := s.ReadChanges(ctx, changes[len(changes)-1].Seq, 10)
	if err != nil {
		t.Fatalf("ReadChanges: %v", err)
	}
	if len(more) != 1 || more[0].RecordID != r.ID {
		t.Fatalf("changes after the reopen: %+v", more)
	}
}

// TestGroupCommitErrors checks that in one group a failing write gets its own error, leaves
// nothing behind, and does not fail the others.
func TestGroupCommitErrors(t *testing.T) {
	s, _ := MustOpen(t)
	ctx := context.Background()
	if err := s.db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucket([]byte("test"))
		return err
	}); err != nil {
		t.Fatal(err)
	}

	// The first write holds the writer until the others are queued, so they commit as one group.
	release, started := make(chan struct{}), make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(release) })
	first := make(chan error, 1)
	go func() {
		first <- s.update(ctx, func(tx *bbolt.Tx) error {
			close(started)
			<-release
			return tx.Bucket([]byte("test")).Put([]byte("first"), []byte("x"))
		})
	}()
	<-started
	const n = 40
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.update(ctx, func(tx *bbolt.Tx) error {
				if err := tx.Bucket([]byte("test")).Put(fmt.Appendf(nil, "k%d", i), []byte("x")); err != nil {
					return err
				}
				switch i % 4 {
				case 1:
					return fmt.Errorf("write %d failed", i)
				case 2:
					panic(fmt.Sprintf("write %d panicked", i))
				}
				return nil
			})
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(s.reqs) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d writes queued", len(s.reqs))
		}
		time.Sleep(time.Millisecond)
	}
	commitsBefore := s.commits.Load()
	once.Do(func() { close(release) })
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatalf("first write: %v", err)
	}

	for i, err := range errs {
		switch i % 4 {
		case 1:
			if err == nil || err.Error() != fmt.Sprintf("write %d failed", i) {
				t.Fatalf("write %d: err=%v, want its own error", i, err)
			}
		case 2:
			if err == nil {
				t.Fatalf("write %d: err=nil, want the panic as an error", i)
			}
		default:
			if err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
		}
	}
	if err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("test"))
		for i := range n {
			got, want := b.Get(fmt.Appendf(nil, "k%d", i)) != nil, i%4 != 1 && i%4 != 2
			if got != want {
				t.Errorf("key k%d present=%v, want %v", i, got, want)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The successful writes committed together: one commit for the group plus one per failed
	// write run alone (those roll back, so they do not count); the first write committed alone.
	if got := s.commits.Load() - commitsBefore; got > 2 {
		t.Fatalf("%d commits for one group of %d writes, want at most 2", got, n)
	}
}

func TestRetention(t *testing.T) {
	ctx := context.Background()
	now := storetest.T0
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s, _ := MustOpen(t, WithClock(clock), WithRetention(24*time.Hour))
	end := training.MustDate("2025-02-28")

	old := storetest.MustCreateRecord(t, s, storetest.NewRecord("c1", "platform/a", "old", end))
	cs, _, err := s.ReadChanges(ctx, "", 10)
	if err != nil || len(cs) != 1 {
		t.Fatalf("ReadChanges: %d changes, err=%v", len(cs), err)
	}
	if got, want := cs[0].At, storetest.T0; !got.Equal(want) {
		t.Fatalf("At=%v, want %v", got, want)
	}
	atOld := cs[0].Seq
	advance(23 * time.Hour)
	kept := storetest.MustCreateRecord(t, s, storetest.NewRecord("c1", "platform/a", "kept", end))
	advance(2 * time.Hour) // old is 25 h old now, kept 2 h
	fresh := storetest.MustCreateRecord(t, s, storetest.NewRecord("c1", "platform/a", "fresh", end))

	cs, _, err = s.ReadChanges(ctx, "", 10)
	if err != nil {
		t.Fatalf("ReadChanges: %v", err)
	}
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.RecordID)
	}
	if got, want := fmt.Sprint(ids), fmt.Sprint([]string{kept.ID, fresh.ID}); got != want {
		t.Fatalf("retained changes %v, want %v (old %s trimmed)", got, want, old.ID)
	}
	// A cursor at a trimmed change continues with the oldest retained one.
	cs, _, err = s.ReadChanges(ctx, atOld, 10)
	if err != nil || len(cs) != 2 {
		t.Fatalf("ReadChanges(at the trimmed change): %d changes, err=%v", len(cs), err)
	}
	// The records themselves are never trimmed.
	if _, err := s.GetRecord(ctx, old.ID); err != nil {
		t.Fatalf("GetRecord(old): %v", err)
	}
}

// TestOldJobsBucketDropped: a file written when recompute jobs had a bucket of their own ("jobs")
// opens with that bucket dropped (jobs are documents now; docs/operations.md “Recompute jobs”),
// and everything else kept.
func TestOldJobsBucketDropped(t *testing.T) {
	s, path := MustOpen(t)
	ctx := context.Background()
	storetest.MustPutCadre(t, s, storetest.NewCadre("c1", "cn/cq"), 0)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucket(bktOldJobs)
		if err != nil {
			return err
		}
		return b.Put([]byte("job_1"), []byte(`{"job_id":"job_1","state":"done"}`))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.view(func(tx *bbolt.Tx) error {
		if tx.Bucket(bktOldJobs) != nil {
			return errors.New("the jobs bucket is still there")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.GetCadre(ctx, "c1"); err != nil {
		t.Fatalf("the cadre after reopening: %v", err)
	}
}
