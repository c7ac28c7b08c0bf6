package app_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/training"
)

// snapshotSpy counts the snapshot writes (and statuses written) that reach the store, and can
// make them fail.
type snapshotSpy struct {
	training.Store
	single, batches, statuses int
	fail                      error
	written                   []string                   // cadres of the statuses handed to PutSnapshots
	readFails                 func(cadreID string) error // a failing read of the cadre's records, or nil
}

func (s *snapshotSpy) CadreWithRecords(ctx context.Context, id string, span func(training.Cadre) (training.Date, training.Date)) (training.Cadre, []training.Record, error) {
	if s.readFails != nil {
		if err := s.readFails(id); err != nil {
			return training.Cadre{}, nil, err
		}
	}
	return s.Store.CadreWithRecords(ctx, id, span)
}

func (s *snapshotSpy) PutSnapshot(ctx context.Context, st training.Status) error {
	s.single++
	return s.Store.PutSnapshot(ctx, st)
}

func (s *snapshotSpy) PutSnapshots(ctx context.Context, sts []training.Status) (int, error) {
	if s.fail != nil {
		return 0, s.fail
	}
	s.batches++
	for _, st := range sts {
		s.written = append(s.written, st.CadreID)
	}
	n, err := s.Store.PutSnapshots(ctx, sts)
	s.statuses += n // written: the store leaves unchanged statuses alone
	return n, err
}

// TestHandleChangesBatchesSnapshots: issue 12 item 6 — a feed batch stores the statuses of all
// its cadres in one write, each cadre evaluated once; a batch replayed stores nothing; a failed
// write is reported at the first change whose status it held.
func TestHandleChangesBatchesSnapshots(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	spy := &snapshotSpy{Store: s.Store}
	s.Store = spy
	for i := range 5 {
		mustPut(t, s, fmt.Sprintf("c-%d", i), app.ProfileInput{Name: "张三", Unit: "cn/cq", Rank: "principal_staff_1"})
	}
	var changes []training.Change
	// Dated before the service clock (2025-06-30): later dates are implausible (docs/rules.md "Plausibility and bounds").
	for i := range 20 {
		r := fullTime(fmt.Sprintf("c-%d", i%5), fmt.Sprintf("e%d", i), "2025-03-01", "2025-03-05", 40)
		res, err := s.SubmitRecord(ctx, nil, r, false)
		if err != nil {
			t.Fatal(err)
		}
		rec := res.Record
		changes = append(changes, training.Change{Seq: fmt.Sprint(i), Kind: training.ChangeInsert, CadreID: rec.CadreID, RecordID: rec.ID, New: &rec})
	}
	if err := s.HandleChanges(ctx, changes, app.WorkAll); err != nil {
		t.Fatalf("HandleChanges: %v", err)
	}
	if spy.single != 0 || spy.batches != 1 || spy.statuses != 5 {
		t.Fatalf("%d single snapshot writes, %d batches of %d statuses; want 0, 1 of 5", spy.single, spy.batches, spy.statuses)
	}
	for i := range 5 {
		if _, err := s.Store.GetSnapshot(ctx, fmt.Sprintf("c-%d", i)); err != nil {
			t.Fatalf("snapshot of c-%d: %v", i, err)
		}
	}
	// Replayed: every status is as stored, nothing to write.
	spy.batches, spy.statuses = 0, 0
	if err := s.HandleChanges(ctx, changes, app.WorkAll); err != nil {
		t.Fatalf("HandleChanges again: %v", err)
	}
	if spy.statuses != 0 {
		t.Fatalf("a replayed batch wrote %d statuses", spy.statuses)
	}
	// A failing write is the failure of the first change whose status it held.
	more := fullTime("c-3", "late", "2025-04-01", "2025-04-03", 24)
	res, err := s.SubmitRecord(ctx, nil, more, false)
	if err != nil {
		t.Fatal(err)
	}
	spy.fail = errors.New("disk full")
	ghost := training.Change{Seq: "g", Kind: training.ChangeInsert, CadreID: "gone", RecordID: "r_gone"} // no such cadre: skipped
	batch := []training.Change{ghost, ghost, {Seq: "x", Kind: training.ChangeInsert, CadreID: "c-3", RecordID: res.Record.ID, New: &res.Record}}
	err = s.HandleChanges(ctx, batch, app.WorkRecompute)
	var f *app.ChangeFailure
	if !errors.As(err, &f) || f.Index != 2 || !errors.Is(err, spy.fail) {
		t.Fatalf("HandleChanges with a failing write: %v; want a failure at change 2", err)
	}
}

// TestHandleChangesEvaluatesAheadInOrder: a batch's cadres are evaluated ahead, several at once,
// but the batch still takes effect in its order: when the read of one cadre fails, the failure is
// at that cadre's first change, the statuses of the cadres before it are stored, and nothing of
// the cadres after it (whose evaluations may already have run) is.
func TestHandleChangesEvaluatesAheadInOrder(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	spy := &snapshotSpy{Store: s.Store}
	s.Store = spy
	var changes []training.Change
	for i := range 12 {
		id := fmt.Sprintf("c-%d", i)
		mustPut(t, s, id, app.ProfileInput{Name: "张三", Unit: "cn/cq", Rank: "principal_staff_1"})
		for j := range 2 {
			res, err := s.SubmitRecord(ctx, nil, fullTime(id, fmt.Sprintf("e%d-%d", i, j), "2025-03-01", "2025-03-05", 40), false)
			if err != nil {
				t.Fatal(err)
			}
			rec := res.Record
			changes = append(changes, training.Change{Seq: fmt.Sprint(len(changes)), Kind: training.ChangeInsert, CadreID: id, RecordID: rec.ID, New: &rec})
		}
	}
	readErr := errors.New("page fault")
	spy.readFails = func(id string) error {
		if id == "c-5" {
			return readErr
		}
		return nil
	}
	err := s.HandleChanges(ctx, changes, app.WorkRecompute)
	var f *app.ChangeFailure
	if !errors.As(err, &f) || f.Index != 10 || !errors.Is(err, readErr) {
		t.Fatalf("HandleChanges with c-5 unreadable: %v; want a failure at change 10, c-5's first", err)
	}
	want := []string{"c-0", "c-1", "c-2", "c-3", "c-4"}
	if fmt.Sprint(spy.written) != fmt.Sprint(want) {
		t.Fatalf("statuses stored for %v, want %v (the cadres before the failure, in order)", spy.written, want)
	}
	// Retried from the failure once the read works: the rest, in order.
	spy.readFails, spy.written = nil, nil
	if err := s.HandleChanges(ctx, changes[f.Index:], app.WorkRecompute); err != nil {
		t.Fatalf("HandleChanges retried: %v", err)
	}
	want = []string{"c-5", "c-6", "c-7", "c-8", "c-9", "c-10", "c-11"}
	if fmt.Sprint(spy.written) != fmt.Sprint(want) {
		t.Fatalf("retry stored statuses for %v, want %v", spy.written, want)
	}
}
