package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/training"
)

// queue is a StepHandOff that keeps the steps handed on, for the test to run one at a time.
type queue struct{ steps []app.JobStep }

func (q *queue) HandOn(_ context.Context, step app.JobStep) error {
	q.steps = append(q.steps, step)
	return nil
}

func (q *queue) pop(t *testing.T) app.JobStep {
	t.Helper()
	if len(q.steps) == 0 {
		t.Fatal("no step was handed on")
	}
	st := q.steps[0]
	q.steps = q.steps[1:]
	return st
}

// failing wraps a store; its function fields make chosen calls fail (error paths only).
type failing struct {
	training.Store
	listCadres func(unitPrefix, cursor string) error
	readCadre  func(id string) error
}

func (f *failing) ListCadres(ctx context.Context, unitPrefix, cursor string, limit int) ([]training.Cadre, string, error) {
	if f.listCadres != nil {
		if err := f.listCadres(unitPrefix, cursor); err != nil {
			return nil, "", err
		}
	}
	return f.Store.ListCadres(ctx, unitPrefix, cursor, limit)
}

func (f *failing) CadreWithRecords(ctx context.Context, id string, span func(training.Cadre) (from, to training.Date)) (training.Cadre, []training.Record, error) {
	if f.readCadre != nil {
		if err := f.readCadre(id); err != nil {
			return training.Cadre{}, nil, err
		}
	}
	return f.Store.CadreWithRecords(ctx, id, span)
}

// A full recompute is a checkpointed fan-out (docs/dynamodb.md, "Full recompute"): each step
// does pages from the segment's checkpoint and hands on the next step; a failed step leaves the
// checkpoint where it was and the job resumes from it; the status reports done / total / failed.
func TestRecomputeJobSteps(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	const n = 2*app.JobPageSize + 50 // three pages
	for i := 0; i < n; i++ {
		mustPut(t, s, fmt.Sprintf("c%04d", i), app.ProfileInput{Name: "干部", Unit: "cn/cq", Rank: "clerk"})
	}
	listFails := atomic.Bool{}
	store := &failing{Store: s.Store,
		listCadres: func(_, cursor string) error {
			if cursor != "" && listFails.Load() {
				return errors.New("listing: connection reset")
			}
			return nil
		},
		readCadre: func(id string) error {
			if id == "c0007" {
				return errors.New("reading c0007: throttled")
			}
			return nil
		},
	}
	s.Store = store
	// A step with less than a minute left does one page and hands on.
	short, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	q := &queue{}
	j, err := s.StartJob(ctx, app.RecomputeJob{JobID: "job_t"}, q)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(q.steps), 1; got != want || j.State != training.JobQueued || j.Kind != app.JobKindRecompute {
		t.Fatalf("start: %d steps handed on, state %s, kind %q; want %d (one segment), queued, recompute", got, j.State, j.Kind, want)
	}
	var failed []string
	onErr := func(id string, _ error) { failed = append(failed, id) }

	status := func(what string, done, total, failedN int, state training.JobState) {
		t.Helper()
		j, err := s.GetJob(ctx, "job_t")
		if err != nil {
			t.Fatal(err)
		}
		if j.Done != done || j.Total != total || j.Failed != failedN || j.State != state {
			t.Fatalf("%s: done %d / total %d / failed %d, %s; want %d / %d / %d, %s", what, j.Done, j.Total, j.Failed, j.State, done, total, failedN, state)
		}
	}

	if _, err := s.RunJobStep(short, q.pop(t), q, onErr); err != nil {
		t.Fatal(err)
	}
	status("after the first step", app.JobPageSize-1, n, 1, training.JobRunning)
	if len(q.steps) != 1 {
		t.Fatalf("the first step handed on %d steps, want 1", len(q.steps))
	}

	// The next step fails to list: nothing moves, and nothing is handed on.
	listFails.Store(true)
	if _, err := s.RunJobStep(short, q.pop(t), q, onErr); err == nil {
		t.Fatal("a step whose listing failed reported no error")
	}
	status("after a failed step", app.JobPageSize-1, n, 1, training.JobRunning)
	if len(q.steps) != 0 {
		t.Fatalf("a failed step handed on %v", q.steps)
	}

	// Resumed, the job continues from the checkpoint to the end, each cadre once.
	listFails.Store(false)
	if _, err := s.ResumeJob(ctx, "job_t", q); err != nil {
		t.Fatal(err)
	}
	for steps := 0; len(q.steps) > 0; steps++ {
		if steps > 10 {
			t.Fatal("the job does not end")
		}
		if _, err := s.RunJobStep(short, q.pop(t), q, onErr); err != nil {
			t.Fatal(err)
		}
	}
	status("at the end", n-1, n, 1, training.JobDone)
	if len(failed) != 1 || failed[0] != "c0007" {
		t.Fatalf("failed cadres %v, want [c0007]", failed)
	}
	if _, err := s.Store.GetSnapshot(ctx, fmt.Sprintf("c%04d", n-1)); err != nil {
		t.Fatalf("the last cadre has no snapshot: %v", err)
	}

	// A step of a finished job, or a start delivered again, does nothing.
	before, _ := s.GetJob(ctx, "job_t")
	if _, err := s.RunJobStep(short, app.JobStep{JobID: "job_t"}, q, onErr); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartJob(ctx, app.RecomputeJob{JobID: "job_t"}, q); err != nil {
		t.Fatal(err)
	}
	if after, _ := s.GetJob(ctx, "job_t"); after.Version != before.Version || len(q.steps) != 0 {
		t.Fatalf("a finished job moved: version %d → %d, steps %v", before.Version, after.Version, q.steps)
	}

	if _, err := s.RunJobStep(short, app.JobStep{JobID: "job_t", Segment: 1}, q, onErr); training.ErrorCode(err) != training.EINVALID {
		t.Fatalf("a step of a segment the job does not have: %v, want invalid", err)
	}
	if _, err := s.GetJob(ctx, "job_missing"); training.ErrorCode(err) != training.ENOTFOUND {
		t.Fatalf("GetJob of an unknown job: %v, want not_found", err)
	}
}

// RunRecomputeJob (the one-machine server's job) runs every step in goroutines of its own until
// the job is done and reports the final counts; the job status is stored.
func TestRunRecomputeJob(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	const n = app.JobPageSize + 3
	for i := 0; i < n; i++ {
		mustPut(t, s, fmt.Sprintf("c%04d", i), app.ProfileInput{Name: "干部", Unit: "cn/sc", Rank: "clerk"})
	}
	res, err := s.RunRecomputeJob(ctx, app.RecomputeJob{JobID: "job_g"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res, (app.RecomputeResult{Recomputed: n}); got != want {
		t.Fatalf("result %+v, want %+v", got, want)
	}
	j, err := s.GetJob(ctx, "job_g")
	if err != nil || j.State != training.JobDone || j.Total != n || j.Done != n {
		t.Fatalf("job %+v, err %v; want done with %d of %d", j, err, n, n)
	}
}

// A job whose step fails in this process is recorded failed with the error; run again under the
// same id it resumes from its checkpoints and ends done.
func TestRunRecomputeJobFailsAndResumes(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	const n = app.JobPageSize*2 + 1
	for i := 0; i < n; i++ {
		mustPut(t, s, fmt.Sprintf("c%04d", i), app.ProfileInput{Name: "干部", Unit: "cn/gd", Rank: "clerk"})
	}
	fails := atomic.Bool{}
	fails.Store(true)
	s.Store = &failing{Store: s.Store, listCadres: func(_, cursor string) error {
		if cursor != "" && fails.Load() {
			return errors.New("listing: connection reset")
		}
		return nil
	}}
	if _, err := s.RunRecomputeJob(ctx, app.RecomputeJob{JobID: "job_f"}, nil); err == nil {
		t.Fatal("a job whose listing failed reported no error")
	}
	j, err := s.GetJob(ctx, "job_f")
	if err != nil || j.State != training.JobFailed || j.Error == "" || j.Done != app.JobPageSize {
		t.Fatalf("failed job %+v, err %v; want failed with its error after one page", j, err)
	}
	fails.Store(false)
	res, err := s.RunRecomputeJob(ctx, app.RecomputeJob{JobID: "job_f"}, nil)
	if err != nil || res.Recomputed != n {
		t.Fatalf("resumed job: %+v, err %v; want %d recomputed in all", res, err, n)
	}
	if j, _ := s.GetJob(ctx, "job_f"); j.State != training.JobDone || j.Error != "" || j.Done != n {
		t.Fatalf("resumed job %+v, want done with %d", j, n)
	}
}

// Recompute jobs are kept for training.JobRetention (30 days) after their last change
// (docs/operations.md “Recompute jobs”): until then GET answers the job with its expires_at; from
// then on it is not found, the embedded store's sweep deletes it, and the same id starts afresh.
func TestJobRetention(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	clock := now
	s.Now = func() time.Time { return clock }
	mustPut(t, s, "c0001", app.ProfileInput{Name: "干部", Unit: "cn/cq", Rank: "clerk"})
	if _, err := s.RunRecomputeJob(ctx, app.RecomputeJob{JobID: "job_r"}, nil); err != nil {
		t.Fatal(err)
	}
	finished := clock
	for _, tc := range []struct {
		name    string
		at      time.Time
		visible bool
		swept   int
	}{
		{"JustFinished", finished, true, 0},
		{"DayBeforeExpiry", finished.Add(training.JobRetention - 24*time.Hour), true, 0},
		{"AtExpiry", finished.Add(training.JobRetention), false, 1},
		{"SweptAlready", finished.Add(training.JobRetention + time.Hour), false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock = tc.at
			j, err := s.GetJob(ctx, "job_r")
			switch {
			case tc.visible && err != nil:
				t.Fatalf("GetJob: %v", err)
			case tc.visible && (j.State != training.JobDone || !j.ExpiresAt.Equal(finished.Add(training.JobRetention))):
				t.Fatalf("job %s expires %v; want done, expiring %v", j.State, j.ExpiresAt, finished.Add(training.JobRetention))
			case !tc.visible && training.ErrorCode(err) != training.ENOTFOUND:
				t.Fatalf("GetJob of an expired job: %+v, %v; want ENOTFOUND", j, err)
			}
			n, err := s.SweepJobs(ctx)
			if err != nil || n != tc.swept {
				t.Fatalf("SweepJobs: %d, %v; want %d", n, err, tc.swept)
			}
		})
	}
	// The expired job's id runs afresh.
	res, err := s.RunRecomputeJob(ctx, app.RecomputeJob{JobID: "job_r"}, nil)
	if err != nil || res.Recomputed != 1 {
		t.Fatalf("the same id after expiry: %+v, %v; want 1 recomputed", res, err)
	}
}

// An expired job not yet deleted (DynamoDB deletes by TTL within days) is replaced, not resumed,
// when its id is started again.
func TestCreateJobReplacesExpired(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	old := training.Job{ID: "job_x", Kind: app.JobKindRecompute, State: training.JobDone, Total: 9, Done: 9,
		Segments:  []training.JobSegment{{Finished: true, Counted: true, Total: 9, Done: 9}},
		CreatedAt: now.Add(-40 * 24 * time.Hour), UpdatedAt: now.Add(-31 * 24 * time.Hour), ExpiresAt: now.Add(-24 * time.Hour)}
	b, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.PutDoc(ctx, training.Doc{Kind: training.DocJob, ID: old.ID, Body: b}, 0); err != nil {
		t.Fatal(err)
	}
	j, err := s.CreateJob(ctx, app.RecomputeJob{JobID: "job_x"})
	if err != nil {
		t.Fatal(err)
	}
	if j.State != training.JobQueued || j.Done != 0 || !j.CreatedAt.Equal(now) || !j.ExpiresAt.Equal(now.Add(training.JobRetention)) {
		t.Fatalf("CreateJob over an expired job: %+v; want a fresh queued job expiring %v", j, now.Add(training.JobRetention))
	}
}
