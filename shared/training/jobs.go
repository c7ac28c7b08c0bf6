package training

import (
	"context"
	"time"
)

// JobState is where a background job stands.
type JobState string

const (
	JobQueued  JobState = "queued"  // accepted, not started yet
	JobRunning JobState = "running" // started; Done and Failed grow toward Total
	JobDone    JobState = "done"    // every cadre was tried (Failed of them failed)
	JobFailed  JobState = "failed"  // stopped early: listing the cadres failed (Error says why)
)

// Job is the recorded progress of a background job (a full recompute), read by
// GET /v1/recompute/{job_id} (docs/api.md “Recompute”).
type Job struct {
	ID    string   `json:"job_id"`
	Kind  string   `json:"kind"` // "recompute"
	State JobState `json:"state"`
	AsOf  Date     `json:"as_of,omitzero"`
	// Total is the number of cadres the job covers (0 until counted); Done those recomputed,
	// Failed those whose recompute failed.
	Total     int       `json:"total"`
	Done      int       `json:"done"`
	Failed    int       `json:"failed"`
	Error     string    `json:"error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// JobStore keeps the progress of background jobs.
type JobStore interface {
	// PutJob stores j under j.ID, replacing what was stored. j.ID must not be empty (EINVALID).
	PutJob(ctx context.Context, j Job) error
	// GetJob returns the job, or ENOTFOUND.
	GetJob(ctx context.Context, id string) (Job, error)
}
