package app

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/cadre-training/cadretrain/shared/training"
)

// ChangeWork says what HandleChanges does with a batch of record changes. In AWS two functions
// consume the stream, each with its own share (write-form-entries: WorkForms, recompute-quota:
// WorkRecompute); the one-machine server does both in one pass (WorkAll).
type ChangeWork uint8

const (
	// WorkForms brings the form entries of changed full-time centralized records in line
	// (docs/rules.md §4).
	WorkForms ChangeWork = 1 << iota
	// WorkRecompute recomputes and stores the status of every cadre whose records changed, once
	// per batch.
	WorkRecompute
	// WorkCalls marks attendance of called cadres from completions carrying a class's
	// course_id (docs/rules.md “Calling cadres to training”).
	WorkCalls
	// WorkAll is all of them.
	WorkAll = WorkForms | WorkRecompute | WorkCalls
)

// ChangeFailure is the first change of a batch that could not be handled. Changes before Index
// are done; the caller retries from Index (changes of one cadre stay in order).
type ChangeFailure struct {
	Index int
	Err   error
}

func (f *ChangeFailure) Error() string {
	return fmt.Sprintf("change %d of the batch: %v", f.Index, f.Err)
}

func (f *ChangeFailure) Unwrap() error { return f.Err }

// HandleChanges is the one place where record changes (the DynamoDB stream in AWS, the embedded
// store's change feed on one machine) take effect. Changes are handled in order; a cadre is
// evaluated once per batch (ahead of the loop, a few cadres at once: evaluationsAhead) and taken
// at its first change, and the batch's report facts and changed statuses
// are stored together at its end (one PutFacts and one PutSnapshots: a transaction each on the
// embedded store). It stops at the
// first failure and returns it as a *ChangeFailure: an undecodable change (Undecodable set) or a
// store error; the statuses evaluated before it are stored first. A change for a cadre that no
// longer exists is skipped (there is nothing to recompute).
//
// Form entries are written from the change's new image when it carries one (changedRecord), so
// the record is not read again, and the entries of the batch's new full-time records are written
// together (one PutFormEntries: one transaction on the embedded store) before any withdrawal and
// at the end.
func (s *Service) HandleChanges(ctx context.Context, changes []training.Change, work ChangeWork) error {
	var ahead *evaluationsAhead
	if work&WorkRecompute != 0 {
		ahead = s.evaluateAhead(ctx, changes, s.Today())
		defer ahead.stop()
	}
	done := map[string]bool{}
	var pending []training.Status
	firstPending := -1 // the change whose cadre's status is the first in pending
	var entries []training.FormEntry
	firstEntry := -1 // the change whose entries are the first in entries
	flushEntries := func() error {
		if len(entries) == 0 {
			return nil
		}
		if err := s.Store.PutFormEntries(ctx, entries); err != nil {
			return &ChangeFailure{Index: firstEntry, Err: fmt.Errorf("store %d form entries: %w", len(entries), err)}
		}
		entries, firstEntry = entries[:0], -1
		return nil
	}
	var facts []training.FactsUpdate
	firstFacts := -1 // the change whose cadre's facts are the first in facts
	flush := func() error {
		if err := flushEntries(); err != nil {
			return err
		}
		if len(facts) > 0 {
			first := firstFacts
			if firstPending >= 0 && firstPending < first {
				first = firstPending
			}
			if err := s.putFacts(ctx, facts); err != nil {
				return &ChangeFailure{Index: first, Err: fmt.Errorf("store report facts: %w", err)}
			}
			facts, firstFacts = facts[:0], -1
		}
		if len(pending) == 0 {
			return nil
		}
		if _, err := s.Store.PutSnapshots(ctx, pending); err != nil {
			return &ChangeFailure{Index: firstPending, Err: fmt.Errorf("store %d statuses: %w", len(pending), err)}
		}
		pending, firstPending = pending[:0], -1
		return nil
	}
	fail := func(f *ChangeFailure) error {
		if err := flush(); err != nil {
			return err
		}
		return f
	}
	for i, ch := range changes {
		if ch.Undecodable != "" {
			return fail(&ChangeFailure{Index: i, Err: fmt.Errorf("undecodable change %s: %s", ch.Seq, ch.Undecodable)})
		}
		if work&WorkForms != 0 {
			rec, err := s.changedRecord(ctx, ch)
			switch {
			case err != nil:
				return fail(&ChangeFailure{Index: i, Err: err})
			case rec == nil || rec.Kind != training.KindCentralized || !rec.FullTime:
				// only full-time centralized training is entered in a form (docs/rules.md §4)
			case rec.Status == training.StatusVoided:
				// Entries of the batch are written first: a void must find what it withdraws.
				if err := flushEntries(); err != nil {
					return fail(err.(*ChangeFailure))
				}
				if err := s.SyncFormEntries(ctx, *rec); err != nil {
					return fail(&ChangeFailure{Index: i, Err: err})
				}
			default:
				if firstEntry < 0 {
					firstEntry = i
				}
				entries = append(entries, training.FormEntries(*rec, s.now().UTC())...)
			}
		}
		if work&WorkCalls != 0 && ch.New != nil {
			if err := s.markAttendance(ctx, *ch.New); err != nil {
				return fail(&ChangeFailure{Index: i, Err: fmt.Errorf("attendance of %s: %w", ch.RecordID, err)})
			}
		}
		if work&WorkRecompute == 0 || ch.CadreID == "" || done[ch.CadreID] {
			continue
		}
		ev := ahead.get(ch.CadreID)
		st, c, stored, storedKnown, err := ev.st, ev.c, ev.stored, ev.storedKnown, ev.err
		if len(ev.facts) > 0 && firstFacts < 0 {
			firstFacts = i
		}
		facts = append(facts, ev.facts...)
		unchanged := false
		if err == nil {
			// Queued before the batch's statuses are stored: a replay finds the same events.
			var nerr error
			if unchanged, nerr = s.statusNotices(ctx, c, stored, storedKnown, st); nerr != nil {
				err = fmt.Errorf("notices: %w", nerr)
			}
		}
		switch {
		case training.ErrorCode(err) == training.ENOTFOUND:
		case err != nil:
			return fail(&ChangeFailure{Index: i, Err: fmt.Errorf("recompute %s: %w", ch.CadreID, err)})
		case unchanged || stored != nil && sameStatus(*stored, st):
		default:
			if firstPending < 0 {
				firstPending = i
			}
			pending = append(pending, st)
		}
		done[ch.CadreID] = true
	}
	return flush()
}

// changedRecord is the record as the change carries it (its new image: the record as that very
// write stored it, and the feed delivers the changes of one record in order), or read from the
// store for a change without an image; nil when there is none.
func (s *Service) changedRecord(ctx context.Context, ch training.Change) (*training.Record, error) {
	if ch.New != nil {
		return ch.New, nil
	}
	if ch.RecordID == "" {
		return nil, nil
	}
	r, err := s.Store.GetRecord(ctx, ch.RecordID)
	if training.ErrorCode(err) == training.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// RepairRecord rebuilds the form entries of one record from its stored state and recomputes its
// cadre: what a dead-lettered change needed. cadreID is used when the record is gone.
func (s *Service) RepairRecord(ctx context.Context, recordID, cadreID string) error {
	rec, err := s.Store.GetRecord(ctx, recordID)
	switch {
	case err == nil:
		cadreID = rec.CadreID
		if rec.Kind == training.KindCentralized && rec.FullTime {
			if err := s.SyncFormEntries(ctx, rec); err != nil {
				return err
			}
		}
	case training.ErrorCode(err) != training.ENOTFOUND:
		return err
	}
	if cadreID == "" {
		return nil
	}
	if _, err := s.Recompute(ctx, cadreID, training.Date{}); err != nil && training.ErrorCode(err) != training.ENOTFOUND {
		return err
	}
	return nil
}

// RepairCadre rebuilds the form entries of every full-time centralized record of the cadre from
// the stored records, then recomputes and stores its status as of asOf (default today). It is
// what an operator's recompute does, so any gap in the form entries (a store restored from an
// older copy, a lost change) can be repaired on demand.
func (s *Service) RepairCadre(ctx context.Context, cadreID string, asOf training.Date) (training.Status, error) {
	recs, err := s.Store.ListRecords(ctx, cadreID)
	if err != nil {
		return training.Status{}, err
	}
	for _, r := range recs {
		if r.Kind == training.KindCentralized && r.FullTime {
			if err := s.SyncFormEntries(ctx, r); err != nil {
				return training.Status{}, err
			}
		}
	}
	return s.Recompute(ctx, cadreID, asOf)
}

// evaluationsAhead evaluates the cadres of a batch (evaluateCollect) before HandleChanges reaches
// them, a few at a time, in the order of their first change: a batch's recomputes are the bulk of
// its work, and one after another they kept one CPU busy while the feed fell behind. The results
// are what the loop would have computed in place: the loop writes nothing an evaluation reads
// (records, profiles, snapshots) before the batch's end, and a cadre's result is taken at its
// first change, so failures keep their order.
type evaluationsAhead struct {
	byCadre map[string]*evaluatedAhead
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

type evaluatedAhead struct {
	cadre       string
	st          training.Status
	c           training.Cadre
	stored      *training.Status
	storedKnown bool
	facts       []training.FactsUpdate
	err         error
	done        chan struct{}
}

// evaluateAhead starts evaluating, as of asOf, every cadre the changes name (GOMAXPROCS at once).
func (s *Service) evaluateAhead(ctx context.Context, changes []training.Change, asOf training.Date) *evaluationsAhead {
	ctx, cancel := context.WithCancel(ctx)
	a := &evaluationsAhead{byCadre: map[string]*evaluatedAhead{}, cancel: cancel}
	var order []*evaluatedAhead
	for _, ch := range changes {
		if ch.Undecodable != "" || ch.CadreID == "" || a.byCadre[ch.CadreID] != nil {
			continue
		}
		e := &evaluatedAhead{cadre: ch.CadreID, done: make(chan struct{})}
		a.byCadre[ch.CadreID] = e
		order = append(order, e)
	}
	jobs := make(chan *evaluatedAhead)
	a.wg.Go(func() {
		defer close(jobs)
		for _, e := range order {
			select {
			case jobs <- e:
			case <-ctx.Done():
				return
			}
		}
	})
	for range min(runtime.GOMAXPROCS(0), len(order)) {
		a.wg.Go(func() {
			for e := range jobs {
				e.st, e.c, e.stored, e.storedKnown, e.err = s.evaluateCollect(ctx, e.cadre, asOf, &e.facts)
				close(e.done)
			}
		})
	}
	return a
}

// get waits for the cadre's evaluation.
func (a *evaluationsAhead) get(cadreID string) *evaluatedAhead {
	e := a.byCadre[cadreID]
	<-e.done
	return e
}

// stop abandons the evaluations not yet started and waits for the others.
func (a *evaluationsAhead) stop() {
	a.cancel()
	a.wg.Wait()
}
