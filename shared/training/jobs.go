package training

import "time"

// JobState is where a background job stands.
type JobState string

const (
	JobQueued  JobState = "queued"  // accepted, no step has saved a checkpoint yet
	JobRunning JobState = "running" // some segment has cadres left; Done and Failed grow toward Total
	JobDone    JobState = "done"    // every segment read to its end (Failed of its cadres failed)
	JobFailed  JobState = "failed"  // stopped by an error (Error says which); resuming continues it
)

// Job is the recorded progress of a background job (a full recompute), read by
// GET /v1/recompute/{job_id}. A full recompute runs as segments handed on from step to step
// (docs/dynamodb.md, "Full recompute"); each segment keeps its checkpoint here, and Total, Done
// and Failed are the sums over the segments.
type Job struct {
	ID          string   `json:"job_id"`
	Kind        string   `json:"kind"` // "recompute"
	State       JobState `json:"state"`
	Unit        string   `json:"unit"` // "" = every cadre
	AsOf        Date     `json:"as_of,omitzero"`
	RepairForms bool     `json:"repair_forms,omitempty"`
	// Total is the number of cadres in the segments counted so far (all of them once every
	// segment has started); Done those recomputed, Failed those whose recompute failed.
	Total     int          `json:"total"`
	Done      int          `json:"done"`
	Failed    int          `json:"failed"`
	Error     string       `json:"error,omitempty"`
	Segments  []JobSegment `json:"segments"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
	// ExpiresAt is UpdatedAt + JobRetention: from then on the job reads as not found, and the
	// sweep after a full recompute deletes it.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Version   int64     `json:"version"`
}

// JobRetention is how long a job's record is kept after its last change: for a finished job, 30
// days after it finished; a job that stopped half-way (its checkpoints no longer move) goes 30
// days after its last checkpoint (docs/operations.md “Recompute jobs”).
const JobRetention = 30 * 24 * time.Hour

// Expired reports whether the job's retention has passed at now.
func (j Job) Expired(now time.Time) bool { return !j.ExpiresAt.IsZero() && !now.Before(j.ExpiresAt) }

// JobSegment is one segment's checkpoint: the listing cursor after the last page whose cadres were
// recomputed, and its counts. A step resumes from Cursor.
type JobSegment struct {
	Cursor   string `json:"cursor,omitempty"`
	Counted  bool   `json:"counted,omitempty"`
	Total    int    `json:"total"`
	Done     int    `json:"done"`
	Failed   int    `json:"failed"`
	Finished bool   `json:"finished,omitempty"`
}
