package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/training"
)

// testSupersedeRecord: a completion that names the event it replaces voids that record and is
// stored in one step; a resend of the pair changes nothing (docs/rules.md "One training, one count").
func testSupersedeRecord(t *testing.T, newStore func(t *testing.T) training.Store) {
	ctx := context.Background()
	end := training.MustDate("2025-03-07")
	v := training.Voiding{Reason: "superseded by event e2", By: "platform/a", At: T0.Add(time.Hour)}
	other := training.Voiding{Reason: "other", By: "hr", At: T0.Add(2 * time.Hour)}
	replacement := func(id string) training.Record {
		return NewRecord("c1", "platform/a", id, end, func(r *training.Record) {
			r.Supersedes, r.Assessment = "e1", training.AssessmentFailed
		})
	}

	t.Run("VoidsOldCreatesNew", func(t *testing.T) {
		s := newStore(t)
		old := MustCreateRecord(t, s, NewRecord("c1", "platform/a", "e1", end))
		_, cursor := readUntil(t, s, "", 0, func(cs []training.Change) bool { return len(cs) >= 1 })
		r := replacement("e2")
		got, outcome, err := s.SupersedeRecord(ctx, r, old.ID, v)
		if err != nil || outcome != training.Created {
			t.Fatalf("SupersedeRecord: %s, %v; want created", outcome, err)
		}
		sameRecord(t, "returned record", got, r)
		stored, err := s.GetRecord(ctx, r.ID)
		if err != nil {
			t.Fatalf("GetRecord(new): %v", err)
		}
		sameRecord(t, "stored new record", stored, r)
		wantOld := old
		wantOld.Status, wantOld.Void = training.StatusVoided, &v
		storedOld, err := s.GetRecord(ctx, old.ID)
		if err != nil {
			t.Fatalf("GetRecord(old): %v", err)
		}
		sameRecord(t, "stored old record", storedOld, wantOld)
		cs, _ := readUntil(t, s, cursor, 0, func(cs []training.Change) bool { return len(cs) >= 2 })
		got2 := changeSummary(cs, "c1")
		for _, want := range []string{"INSERT " + r.ID, "MODIFY " + old.ID} {
			if !slices.Contains(got2, want) {
				t.Fatalf("feed after supersede=%v, want %q", got2, want)
			}
		}

		// The pair again: both duplicates, nothing changes.
		if _, o, err := s.CreateRecord(ctx, NewRecord("c1", "platform/a", "e1", end)); err != nil || o != training.Duplicate {
			t.Fatalf("resend of the old event: %s, %v; want duplicate", o, err)
		}
		if _, o, err := s.SupersedeRecord(ctx, replacement("e2"), old.ID, other); err != nil || o != training.Duplicate {
			t.Fatalf("resend of the superseding event: %s, %v; want duplicate", o, err)
		}
		storedOld, _ = s.GetRecord(ctx, old.ID)
		sameRecord(t, "old record after the resend", storedOld, wantOld)
		// Another content under the same key is a conflict and changes nothing.
		conflicting := NewRecord("c1", "platform/a", "e2", end, func(r *training.Record) { r.Supersedes, r.Hours = "e1", 1 })
		if _, o, err := s.SupersedeRecord(ctx, conflicting, old.ID, other); err != nil || o != training.Conflict {
			t.Fatalf("other content under the key: %s, %v; want conflict", o, err)
		}
	})

	t.Run("OldAlreadyVoidedKeepsFirstVoiding", func(t *testing.T) {
		s := newStore(t)
		old := MustCreateRecord(t, s, NewRecord("c1", "platform/a", "e1", end))
		if _, _, err := s.VoidRecord(ctx, old.ID, other); err != nil {
			t.Fatalf("VoidRecord: %v", err)
		}
		if _, o, err := s.SupersedeRecord(ctx, replacement("e2"), old.ID, v); err != nil || o != training.Created {
			t.Fatalf("SupersedeRecord: %s, %v; want created", o, err)
		}
		storedOld, _ := s.GetRecord(ctx, old.ID)
		if storedOld.Void == nil || storedOld.Void.Reason != other.Reason {
			t.Fatalf("old voiding=%+v, want the first one (%q)", storedOld.Void, other.Reason)
		}
	})

	t.Run("UnknownOrOtherCadreOldWritesNothing", func(t *testing.T) {
		s := newStore(t)
		MustPutCadre(t, s, NewCadre("c1", "cn/cq"), 0)
		foreign := MustCreateRecord(t, s, NewRecord("c2", "platform/a", "e9", end))
		for _, oldID := range []string{training.RecordID("platform/a", "missing"), foreign.ID} {
			r := replacement("e2")
			_, _, err := s.SupersedeRecord(ctx, r, oldID, v)
			wantCode(t, "SupersedeRecord", err, training.ENOTFOUND)
			_, err = s.GetRecord(ctx, r.ID)
			wantCode(t, "GetRecord of the refused record", err, training.ENOTFOUND)
		}
		if f, _ := s.GetRecord(ctx, foreign.ID); f.Status != training.StatusActive {
			t.Fatalf("the other cadre's record was changed: %+v", f)
		}
	})
}
