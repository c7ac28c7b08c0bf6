package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/training"
)

// archive creates, for cadre c1, records attributed over several years (two on one date, one
// voided, online ones), and one record of c2; it returns c1's records in ListRecords order.
func archive(t *testing.T, s training.Store) []training.Record {
	t.Helper()
	ctx := context.Background()
	d := training.MustDate
	MustPutCadre(t, s, NewCadre("c1", "cn/cq"), 0)
	MustPutCadre(t, s, NewCadre("c2", "cn/cq"), 0)
	recs := []training.Record{
		NewRecord("c1", "platform/a", "2019", d("2019-12-31")),
		NewRecord("c1", "platform/a", "2022", d("2022-12-31")),
		NewRecord("c1", "platform/a", "2023a", d("2023-01-01")),
		NewRecord("c1", "platform/b", "2023b", d("2023-01-01")),
		NewRecord("c1", "hr/k", "s2024", training.Date{}, Online(d("2024-06-01"), time.Time{})),
		NewRecord("c1", "platform/a", "2025", d("2025-02-28")),
		NewRecord("c1", "platform/a", "2026", d("2026-01-01")),
		NewRecord("c2", "platform/a", "other", d("2024-02-01")),
	}
	for _, r := range recs {
		MustCreateRecord(t, s, r)
	}
	void := training.Voiding{Reason: "entered twice", By: "hr-admin", At: T0}
	if _, _, err := s.VoidRecord(ctx, recs[3].ID, void); err != nil {
		t.Fatalf("VoidRecord: %v", err)
	}
	recs[3].Status, recs[3].Void = training.StatusVoided, &void
	return archiveOrder(recs, "c1")
}

// archiveOrder is the cadre's records of recs in ListRecords order: newest attribution date
// first, then by id.
func archiveOrder(recs []training.Record, cadreID string) []training.Record {
	var want []training.Record
	for _, r := range recs {
		if r.CadreID == cadreID {
			want = append(want, r)
		}
	}
	slices.SortFunc(want, func(a, b training.Record) int {
		if c := b.AttributionDate().Compare(a.AttributionDate()); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return want
}

// testListRecordsPage: a cadre's archive is read page by page, newest first, in a stable order.
func testListRecordsPage(t *testing.T, newStore func(t *testing.T) training.Store) {
	ctx := context.Background()
	s := newStore(t)
	want := archive(t, s)
	for _, limit := range []int{1, 2, 3, len(want), 100} {
		t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
			var got []training.Record
			cursor, pages := "", 0
			for {
				page, next, err := s.ListRecordsPage(ctx, "c1", cursor, limit)
				if err != nil {
					t.Fatalf("ListRecordsPage(%q, %d): %v", cursor, limit, err)
				}
				if len(page) > limit {
					t.Fatalf("page of %d records, limit %d", len(page), limit)
				}
				got = append(got, page...)
				pages++
				if next == "" {
					break
				}
				if pages > len(want)+1 {
					t.Fatalf("more than %d pages", pages)
				}
				cursor = next
			}
			if g, w := recordIDs(got), recordIDs(want); !slices.Equal(g, w) {
				t.Fatalf("paged ids=%v, want %v", g, w)
			}
			for i := range want {
				sameRecord(t, "paged record", got[i], want[i])
			}
			if wantPages := max(1, (len(want)+limit-1)/limit); pages != wantPages {
				t.Fatalf("%d pages, want %d", pages, wantPages)
			}
		})
	}
	t.Run("UnknownCadre", func(t *testing.T) {
		page, next, err := s.ListRecordsPage(ctx, "nobody", "", 10)
		if err != nil || len(page) != 0 || next != "" {
			t.Fatalf("ListRecordsPage(nobody)=%d records, next %q, err=%v", len(page), next, err)
		}
	})
	t.Run("BadCursor", func(t *testing.T) {
		_, _, err := s.ListRecordsPage(ctx, "c1", "%%%not a cursor%%%", 10)
		wantCode(t, "ListRecordsPage with a bad cursor", err, training.EINVALID)
	})
}

// testCadreWithRecords: the evaluation reads only the records attributed in its range.
func testCadreWithRecords(t *testing.T, newStore func(t *testing.T) training.Store) {
	ctx := context.Background()
	s := newStore(t)
	all := archive(t, s)
	d := training.MustDate
	for _, tc := range []struct {
		name     string
		from, to training.Date
	}{
		{"All", training.Date{}, training.Date{}},
		{"PlanPeriod", d("2023-01-01"), d("2025-02-28")},
		{"OneDay", d("2023-01-01"), d("2023-01-01")},
		{"OpenStart", training.Date{}, d("2022-12-31")},
		{"OpenEnd", d("2025-01-01"), training.Date{}},
		{"Empty", d("2020-01-01"), d("2021-12-31")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []training.Record
			for _, r := range all {
				a := r.AttributionDate()
				if (tc.from.IsZero() || !a.Before(tc.from)) && (tc.to.IsZero() || !a.After(tc.to)) {
					want = append(want, r)
				}
			}
			var seen training.Cadre
			c, got, err := s.CadreWithRecords(ctx, "c1", func(c training.Cadre) (from, to training.Date) {
				seen = c
				return tc.from, tc.to
			})
			if err != nil {
				t.Fatalf("CadreWithRecords: %v", err)
			}
			if c.ID != "c1" || c.Version != 1 || seen.ID != "c1" {
				t.Fatalf("cadre %s version %d (span saw %q), want c1 version 1", c.ID, c.Version, seen.ID)
			}
			if g, w := recordIDs(got), recordIDs(want); !slices.Equal(g, w) {
				t.Fatalf("ids=%v, want %v", g, w)
			}
			for i := range want {
				sameRecord(t, "record", got[i], want[i])
			}
		})
	}
	t.Run("NilSpan", func(t *testing.T) {
		_, got, err := s.CadreWithRecords(ctx, "c1", nil)
		if err != nil || !slices.Equal(recordIDs(got), recordIDs(all)) {
			t.Fatalf("CadreWithRecords(nil span)=%v, %v; want %v", recordIDs(got), err, recordIDs(all))
		}
	})
	t.Run("UnknownCadre", func(t *testing.T) {
		_, _, err := s.CadreWithRecords(ctx, "nobody", nil)
		wantCode(t, "CadreWithRecords(nobody)", err, training.ENOTFOUND)
	})
}

// testPutSnapshots: batched snapshot writes, and no write when the status has not changed.
func testPutSnapshots(t *testing.T, newStore func(t *testing.T) training.Store) {
	ctx := context.Background()
	s := newStore(t)
	status := func(id string, at time.Time, overall training.State) training.Status {
		hours := training.HoursOf(50)
		return training.Status{
			CadreID: id, AsOf: training.DateInCST(T0), Policy: "cadre-2023-2027", Category: "township_and_below",
			Overall: overall, AppraisalExcellentEligible: true,
			Requirements: []training.RequirementStatus{{
				ID: "annual_online", Window: training.Window{Start: training.MustDate("2025-01-01"), End: training.MustDate("2025-12-31")},
				Target: training.Measures{Hours: &hours}, Achieved: training.Measures{Hours: &hours}, Remaining: training.Measures{Hours: new(training.Hours)},
				State: overall, Deadline: training.MustDate("2025-12-31"),
			}},
			ComputedAt: at,
		}
	}
	var first []training.Status
	for i := range 5 {
		first = append(first, status(fmt.Sprintf("c%d", i), T0, training.StateOnTrack))
	}
	if n, err := s.PutSnapshots(ctx, first); err != nil || n != len(first) {
		t.Fatalf("PutSnapshots: wrote %d, err=%v; want %d", n, err, len(first))
	}
	// The same statuses computed an hour later: nothing to write; c2's changed: one write.
	later := T0.Add(time.Hour)
	var second []training.Status
	for i := range 5 {
		overall := training.StateOnTrack
		if i == 2 {
			overall = training.StateMet
		}
		second = append(second, status(fmt.Sprintf("c%d", i), later, overall))
	}
	if n, err := s.PutSnapshots(ctx, second); err != nil || n != 1 {
		t.Fatalf("PutSnapshots of unchanged statuses and one changed: wrote %d, err=%v; want 1", n, err)
	}
	for i := range 5 {
		got, err := s.GetSnapshot(ctx, fmt.Sprintf("c%d", i))
		if err != nil {
			t.Fatalf("GetSnapshot: %v", err)
		}
		want := first[i]
		if i == 2 {
			want = second[i]
		}
		sameStatus(t, "snapshot", got, want)
	}
	// PutSnapshot likewise keeps an equal status as it is (its ComputedAt says since when).
	if err := s.PutSnapshot(ctx, status("c0", later.Add(time.Hour), training.StateOnTrack)); err != nil {
		t.Fatalf("PutSnapshot: %v", err)
	}
	got, err := s.GetSnapshot(ctx, "c0")
	if err != nil {
		t.Fatalf("GetSnapshot: %v", err)
	}
	sameStatus(t, "unchanged snapshot", got, first[0])
	if n, err := s.PutSnapshots(ctx, nil); err != nil || n != 0 {
		t.Fatalf("PutSnapshots(nil): %d, %v", n, err)
	}
}
