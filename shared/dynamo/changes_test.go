package dynamo_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/training"

	"github.com/cadre-training/cadretrain/shared/dynamo"
	"github.com/cadre-training/cadretrain/shared/dynamo/dynamotest"
)

// TestReadChangesLocal writes every item type on DynamoDB Local and reads the real stream: only
// the record's INSERT and MODIFY come out, and each converts to the Lambda event record and back.
func TestReadChangesLocal(t *testing.T) {
	ctx := context.Background()
	s := dynamotest.Store(t)

	if _, err := s.PutCadre(ctx, training.Cadre{ID: "c-001", Name: "张三", Unit: "cn/cq", Rank: "r4"}, 0); err != nil {
		t.Fatal(err)
	}
	r := sampleRecord()
	if _, outcome, err := s.CreateRecord(ctx, r); err != nil || outcome != training.Created {
		t.Fatalf("CreateRecord: outcome=%s, err=%v", outcome, err)
	}
	if err := s.PutFormEntry(ctx, training.FormEntry{CadreID: r.CadreID, Form: training.FormAppraisal, RecordID: r.ID, Status: training.EntryActive}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSnapshot(ctx, training.Status{CadreID: r.CadreID, ComputedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	void := training.Voiding{Reason: "entered twice", By: "hr", At: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	if _, changed, err := s.VoidRecord(ctx, r.ID, void); err != nil || !changed {
		t.Fatalf("VoidRecord: changed=%v, err=%v", changed, err)
	}
	if _, err := s.WithdrawFormEntries(ctx, r.CadreID, r.ID, void); err != nil {
		t.Fatal(err)
	}

	var all []training.Change
	cursor := ""
	deadline := time.Now().Add(30 * time.Second)
	for len(all) < 2 && time.Now().Before(deadline) {
		cs, next, err := s.ReadChanges(ctx, cursor, 1)
		if err != nil {
			t.Fatalf("ReadChanges: %v", err)
		}
		all, cursor = append(all, cs...), next
		if len(cs) == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	var kinds []string
	for _, c := range all {
		kinds = append(kinds, string(c.Kind)+" "+c.RecordID)
	}
	if want := []string{"INSERT " + r.ID, "MODIFY " + r.ID}; !slices.Equal(kinds, want) {
		t.Fatalf("changes=%v, want %v", kinds, want)
	}
	if all[1].Old == nil || all[1].Old.Status != training.StatusActive || all[1].New.Status != training.StatusVoided {
		t.Fatalf("MODIFY images: old=%+v new=%+v", all[1].Old, all[1].New)
	}

	// Nothing more: no change, the cursor unchanged (the form entry's and snapshot's stream
	// records are skipped).
	cs, next, err := s.ReadChanges(ctx, cursor, 10)
	if err != nil || len(cs) != 0 || next != cursor {
		t.Fatalf("ReadChanges at the end: %d changes, cursor moved=%v, err=%v", len(cs), next != cursor, err)
	}

	if _, _, err := s.ReadChanges(ctx, "bm90IGpzb24", 10); training.ErrorCode(err) != training.EINVALID {
		t.Fatalf("ReadChanges(bad cursor): %v, want EINVALID", err)
	}
}

func TestTableInput(t *testing.T) {
	in := dynamo.TableInput("x")
	if got, want := string(in.StreamSpecification.StreamViewType), "NEW_AND_OLD_IMAGES"; got != want {
		t.Fatalf("StreamViewType=%q, want %q", got, want)
	}
	if got, want := string(in.BillingMode), "PAY_PER_REQUEST"; got != want {
		t.Fatalf("BillingMode=%q, want %q", got, want)
	}
}
