package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"

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

// RunRecomputeJob recomputes every cadre as of job.AsOf (default today). onErr sees each cadre
// that failed; the count is in the result.
func (s *Service) RunRecomputeJob(ctx context.Context, job RecomputeJob, onErr func(cadreID string, err error)) (RecomputeResult, error) {
	return s.RecomputeUnitWith(ctx, "", job.AsOf, FullRecomputeWorkers, job.RepairForms, onErr)
}
