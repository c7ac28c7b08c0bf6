package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/training"
)

// NewJob returns a running job (Version 0) over three segments with every field filled.
func NewJob(id string) training.Job {
	return training.Job{
		ID: id, Kind: "recompute", Unit: "cn/cq", AsOf: training.MustDate("2025-03-01"), RepairForms: true,
		State: training.JobRunning, Total: 7, Done: 3, Failed: 1,
		Segments: []training.JobSegment{
			{Cursor: "eyJwayI6IkNBRFJFI2MxIn0", Counted: true, Total: 4, Done: 3, Failed: 1},
			{Counted: true, Total: 3},
			{},
		},
		CreatedAt: T0, UpdatedAt: T0, ExpiresAt: T0.Add(training.JobRetention),
	}
}

func normJob(j training.Job) training.Job {
	j.CreatedAt, j.UpdatedAt, j.ExpiresAt = utc(j.CreatedAt), utc(j.UpdatedAt), utc(j.ExpiresAt)
	return j
}

func sameJob(tb testing.TB, what string, got, want training.Job) {
	tb.Helper()
	if g, w := normJob(got), normJob(want); !reflect.DeepEqual(g, w) {
		tb.Fatalf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

// testJobs: job statuses are kept under the same optimistic concurrency as cadres (store.go,
// JobStore), so that segments of one job checkpoint without losing each other's progress.
func testJobs(t *testing.T, newStore func(t *testing.T) training.Store) {
	s := newStore(t)
	ctx := context.Background()

	t.Run("GetNotFound", func(t *testing.T) {
		_, err := s.GetJob(ctx, "job_missing")
		wantCode(t, "GetJob of a missing job", err, training.ENOTFOUND)
	})
	t.Run("NoID", func(t *testing.T) {
		_, err := s.PutJob(ctx, NewJob(""), 0)
		wantCode(t, "PutJob without an id", err, training.EINVALID)
	})

	created, err := s.PutJob(ctx, NewJob("job_1"), 0)
	if err != nil {
		t.Fatalf("PutJob(create): %v", err)
	}
	t.Run("Create", func(t *testing.T) {
		want := NewJob("job_1")
		want.Version = 1
		sameJob(t, "PutJob result", created, want)
		got, err := s.GetJob(ctx, "job_1")
		if err != nil {
			t.Fatal(err)
		}
		sameJob(t, "GetJob after create", got, want)
	})

	t.Run("CreateTwiceConflict", func(t *testing.T) {
		again := NewJob("job_1")
		again.Done = 99
		_, err := s.PutJob(ctx, again, 0)
		wantCode(t, "second create", err, training.ECONFLICT)
		if got, _ := s.GetJob(ctx, "job_1"); got.Done != 3 {
			t.Fatalf("a failed create changed the job: done=%d", got.Done)
		}
	})

	t.Run("Update", func(t *testing.T) {
		next := created
		next.Segments = append([]training.JobSegment(nil), created.Segments...)
		next.Segments[2] = training.JobSegment{Counted: true, Finished: true}
		next.State, next.Done, next.Error = training.JobFailed, 6, "listing segment 2 failed"
		next.UpdatedAt = T0.Add(90_000_000_000)
		got, err := s.PutJob(ctx, next, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 2 {
			t.Fatalf("version=%d, want 2", got.Version)
		}
		stored, err := s.GetJob(ctx, "job_1")
		if err != nil {
			t.Fatal(err)
		}
		next.Version = 2
		sameJob(t, "GetJob after update", stored, next)
	})

	// A store that sweeps expired jobs itself (training.JobSweeper: the embedded store; DynamoDB
	// deletes them by TTL) deletes those expired at the time given, and only those
	// (docs/operations.md “Recompute jobs”).
	t.Run("SweepExpired", func(t *testing.T) {
		sw, ok := s.(training.JobSweeper)
		if !ok {
			t.Skip("the store deletes expired jobs by itself (TTL)")
		}
		ids := map[string]time.Time{"job_sweep_old": T0, "job_sweep_now": T0.Add(time.Hour), "job_sweep_new": T0.Add(2 * time.Hour), "job_sweep_never": {}}
		for id, exp := range ids {
			j := NewJob(id)
			j.ExpiresAt = exp
			if _, err := s.PutJob(ctx, j, 0); err != nil {
				t.Fatal(err)
			}
		}
		n, err := sw.DeleteExpiredJobs(ctx, T0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		for id, exp := range ids {
			_, err := s.GetJob(ctx, id)
			if gone := !exp.IsZero() && !exp.After(T0.Add(time.Hour)); gone {
				wantCode(t, "GetJob of swept "+id, err, training.ENOTFOUND)
			} else if err != nil {
				t.Fatalf("GetJob of %s (expires %v), kept: %v", id, exp, err)
			}
		}
		// job_1 above expires at T0 + JobRetention: kept.
		if n != 2 {
			t.Fatalf("DeleteExpiredJobs deleted %d, want 2", n)
		}
	})

	for _, tc := range []struct {
		name   string
		id     string
		expect int64
	}{
		{"StaleVersion", "job_1", 1},
		{"AheadVersion", "job_1", 5},
		{"RecreateExisting", "job_1", 0},
		{"UpdateMissing", "job_2", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := NewJob(tc.id)
			j.Done = 42
			_, err := s.PutJob(ctx, j, tc.expect)
			wantCode(t, "PutJob with version "+tc.name, err, training.ECONFLICT)
			if got, err := s.GetJob(ctx, tc.id); err == nil && got.Done == 42 {
				t.Fatalf("a failed put changed job %s", tc.id)
			}
		})
	}
}
