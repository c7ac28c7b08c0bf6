package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/training"
)

// testJobs: the progress of a background job (GET /v1/recompute/{job_id}, docs/api.md
// “Recompute”) is stored whole, replaced by each PutJob, and unknown ids are ENOTFOUND.
func testJobs(t *testing.T, newStore func(t *testing.T) training.Store) {
	ctx := context.Background()
	s := newStore(t)
	_, err := s.GetJob(ctx, "job_0000000000000000")
	wantCode(t, "GetJob of an unknown id", err, training.ENOTFOUND)
	wantCode(t, "PutJob without an id", s.PutJob(ctx, training.Job{Kind: "recompute"}), training.EINVALID)

	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	steps := []training.Job{
		{ID: "job_a", Kind: "recompute", State: training.JobQueued, CreatedAt: at, UpdatedAt: at},
		{ID: "job_a", Kind: "recompute", State: training.JobRunning, AsOf: training.MustDate("2026-11-27"), Total: 1200, Done: 500, Failed: 2, CreatedAt: at, UpdatedAt: at.Add(time.Second)},
		{ID: "job_a", Kind: "recompute", State: training.JobFailed, AsOf: training.MustDate("2026-11-27"), Total: 1200, Done: 1000, Failed: 2, Error: "listing cadres: timeout", CreatedAt: at, UpdatedAt: at.Add(2 * time.Second)},
	}
	for i, want := range steps {
		if err := s.PutJob(ctx, want); err != nil {
			t.Fatalf("PutJob step %d: %v", i, err)
		}
		got, err := s.GetJob(ctx, "job_a")
		if err != nil {
			t.Fatalf("GetJob step %d: %v", i, err)
		}
		got.CreatedAt, got.UpdatedAt = got.CreatedAt.UTC(), got.UpdatedAt.UTC()
		if got != want {
			t.Errorf("step %d: got %+v, want %+v", i, got, want)
		}
	}
	// Another job is its own.
	other := training.Job{ID: "job_b", Kind: "recompute", State: training.JobDone, Total: 3, Done: 3, CreatedAt: at, UpdatedAt: at}
	if err := s.PutJob(ctx, other); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetJob(ctx, "job_a"); err != nil || got.State != training.JobFailed {
		t.Errorf("job_a after job_b was put: %+v, %v", got, err)
	}
}
