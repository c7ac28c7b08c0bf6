package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/cadre-training/cadretrain/shared/training"
)

// RecomputeJob is a full recompute run in the background (POST /v1/recompute {"all": true}, the
// daily schedule).
type RecomputeJob struct {
	JobID string        `json:"job_id"`
	AsOf  training.Date `json:"as_of,omitzero"`
	// RepairForms also rebuilds every form entry (an operator's recompute; the daily schedule
	// only recomputes).
	RepairForms bool `json:"repair_forms,omitempty"`
}

// JobStarter starts a RecomputeJob in the background and returns at once: in AWS an asynchronous
// invocation of the recompute-quota function, on one machine a tracked goroutine.
type JobStarter interface {
	StartRecompute(ctx context.Context, job RecomputeJob) error
}

// NewJobID returns a fresh job id, job_<16 hex digits>.
func NewJobID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "job_" + hex.EncodeToString(b)
}

// FullRecomputeWorkers is the parallelism of a full recompute.
const FullRecomputeWorkers = 16

// RunRecomputeJob recomputes every cadre as of job.AsOf (default today), which also queues the
// notices of changed statuses, then does the daily notice work (DailyNotices: absences of ended
// classes, the weekly digests on Mondays). onErr sees each cadre that failed; the count is in the
// result. The job's progress is recorded in the store under
// job.JobID (GET /v1/recompute/{job_id}): running with the number of cadres once counted, done
// and failed after each batch (at most once a second), then done — or failed when listing the
// cadres failed. Recording progress is advisory: a failed progress write does not stop the
// recompute; the next one, or the final one, catches up.
func (s *Service) RunRecomputeJob(ctx context.Context, job RecomputeJob, onErr func(cadreID string, err error)) (RecomputeResult, error) {
	asOf := job.AsOf
	if asOf.IsZero() {
		asOf = s.Today()
	}
	now := s.now().UTC()
	rec := training.Job{ID: job.JobID, Kind: JobKindRecompute, State: training.JobRunning, AsOf: asOf, CreatedAt: now, UpdatedAt: now}
	if prev, err := s.Store.GetJob(ctx, job.JobID); err == nil {
		rec.CreatedAt = prev.CreatedAt // queued by POST /v1/recompute
	}
	put := func() {
		if job.JobID != "" {
			rec.UpdatedAt = s.now().UTC()
			_ = s.Store.PutJob(ctx, rec) // advisory, see above
		}
	}
	total, err := s.countCadres(ctx, "")
	if err != nil {
		rec.State, rec.Error = training.JobFailed, "counting the cadres failed"
		put()
		return RecomputeResult{}, err
	}
	rec.Total = total
	put()
	last := s.now()
	res, err := s.recomputeUnit(ctx, "", asOf, FullRecomputeWorkers, job.RepairForms, onErr, func(r RecomputeResult) {
		rec.Done, rec.Failed = r.Recomputed, r.Failed
		if t := s.now(); t.Sub(last) >= time.Second {
			last = t
			put()
		}
	})
	rec.Done, rec.Failed = res.Recomputed, res.Failed
	rec.State = training.JobDone
	if err != nil {
		rec.State, rec.Error = training.JobFailed, "listing the cadres failed"
	} else if err = s.DailyNotices(ctx); err != nil {
		rec.State, rec.Error = training.JobFailed, "the daily notices failed"
	}
	if rec.Total < rec.Done+rec.Failed { // cadres created while the job ran
		rec.Total = rec.Done + rec.Failed
	}
	put()
	return res, err
}

// JobKindRecompute is the kind of a full recompute job.
const JobKindRecompute = "recompute"

// QueueRecomputeJob records job as queued, before it is started in the background, so that its
// status can be asked for as soon as its id is handed out.
func (s *Service) QueueRecomputeJob(ctx context.Context, job RecomputeJob) error {
	now := s.now().UTC()
	return s.Store.PutJob(ctx, training.Job{ID: job.JobID, Kind: JobKindRecompute, State: training.JobQueued, AsOf: job.AsOf, CreatedAt: now, UpdatedAt: now})
}

// Job returns a background job's recorded progress, or ENOTFOUND.
func (s *Service) Job(ctx context.Context, id string) (training.Job, error) {
	return s.Store.GetJob(ctx, id)
}

// countCadres counts the cadres of the unit subtree by paging through the unit index.
func (s *Service) countCadres(ctx context.Context, unit string) (int, error) {
	n, cursor := 0, ""
	for {
		page, next, err := s.Store.ListCadres(ctx, unit, cursor, listPage)
		if err != nil {
			return 0, err
		}
		n += len(page)
		if next == "" {
			return n, nil
		}
		cursor = next
	}
}
