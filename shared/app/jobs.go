package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"sync"
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

// FullRecomputeWorkers is the parallelism of a full recompute within one segment.
const FullRecomputeWorkers = 16

// A full recompute is a checkpointed fan-out. StartJob writes the job's status (training.Job:
// one checkpoint per segment of the cadres) and hands on one step per segment. A step
// (RunJobStep) recomputes pages of its segment from the checkpoint, saving the checkpoint after
// each page, until the segment ends or the step's time is up, and then hands on the next step of
// its segment. A step that dies is run again from the last checkpoint (in AWS Lambda retries the
// asynchronous invocation; ResumeJob hands on every unfinished segment again). The job status
// reports done / total / failed throughout (GetJob).

// JobStep is one step of a job: the next pages of one segment. In AWS it is the payload of an
// asynchronous invocation of recompute-quota ({"recompute_step": …}).
type JobStep struct {
	JobID   string `json:"job_id"`
	Segment int    `json:"segment"`
}

// StepHandOff hands on a step to run after the current one returns: in AWS an asynchronous
// invocation of the recompute function itself, on one machine a goroutine.
type StepHandOff interface {
	HandOn(ctx context.Context, step JobStep) error
}

// CadreSegmenter is implemented by stores that list their cadres in independent segments that
// can be read in parallel (the DynamoDB store: one per shard of its unit index). A store that
// does not is one segment, listed with ListCadres.
type CadreSegmenter interface {
	CadreSegments() int
	ListCadreSegment(ctx context.Context, segment int, unitPrefix, cursor string, limit int) ([]training.Cadre, string, error)
	CountCadreSegment(ctx context.Context, segment int, unitPrefix string) (int, error)
}

const (
	// JobPageSize is the number of cadres a step lists, recomputes and checkpoints at a time.
	JobPageSize = 200
	// A step with a deadline (a Lambda invocation) starts no page when the deadline is closer
	// than stepMargin; one without starts at most stepPages pages before handing on.
	stepMargin = 60 * time.Second
	stepPages  = 25
	// maxCheckpointRetries bounds the re-reads when other segments' checkpoints come in between.
	maxCheckpointRetries = 50
)

func (s *Service) segments() int {
	if sg, ok := s.Store.(CadreSegmenter); ok {
		return sg.CadreSegments()
	}
	return 1
}

func (s *Service) listSegment(ctx context.Context, segment int, unit, cursor string, limit int) ([]training.Cadre, string, error) {
	if sg, ok := s.Store.(CadreSegmenter); ok {
		return sg.ListCadreSegment(ctx, segment, unit, cursor, limit)
	}
	return s.Store.ListCadres(ctx, unit, cursor, limit)
}

func (s *Service) countSegment(ctx context.Context, segment int, unit string) (int, error) {
	if sg, ok := s.Store.(CadreSegmenter); ok {
		return sg.CountCadreSegment(ctx, segment, unit)
	}
	n, cursor := 0, ""
	for {
		page, next, err := s.Store.ListCadres(ctx, unit, cursor, 1000)
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

// JobKindRecompute is the kind of a full recompute job.
const JobKindRecompute = "recompute"

// CreateJob writes the status of a new job (queued, nothing done yet, one checkpoint per segment)
// without starting it, so that its status can be read as soon as its id is given out. A job that
// exists already is returned as it is.
func (s *Service) CreateJob(ctx context.Context, job RecomputeJob) (training.Job, error) {
	if job.JobID == "" {
		return training.Job{}, training.Errorf(training.EINVALID, "a job needs an id")
	}
	now := s.now().UTC()
	fresh := training.Job{
		ID: job.JobID, Kind: JobKindRecompute, AsOf: job.AsOf, RepairForms: job.RepairForms, State: training.JobQueued,
		Segments: make([]training.JobSegment, s.segments()), CreatedAt: now, UpdatedAt: now,
	}
	var expired int64 // the version of an expired job under the same id, replaced
	for attempt := 0; ; attempt++ {
		j, err := s.putJob(ctx, fresh, expired)
		if training.ErrorCode(err) == training.ECONFLICT && attempt < maxCheckpointRetries {
			cur, gerr := s.loadJob(ctx, job.JobID)
			if gerr != nil && training.ErrorCode(gerr) != training.ENOTFOUND {
				return training.Job{}, gerr
			}
			if gerr == nil && !cur.Expired(now) {
				return cur, nil
			}
			expired = cur.Version // 0 when it was deleted in between
			continue
		}
		if err != nil {
			return training.Job{}, fmt.Errorf("create job %s: %w", job.JobID, err)
		}
		return j, nil
	}
}

// Jobs are documents (training.DocJob) under the document store's optimistic concurrency: the
// segments of one job save their checkpoints concurrently, each conditional on the version read.

// loadJob reads the job, or ENOTFOUND; an expired job not swept yet is returned as it is.
func (s *Service) loadJob(ctx context.Context, id string) (training.Job, error) {
	var j training.Job
	ver, err := s.getDoc(ctx, training.DocJob, id, &j)
	if err != nil {
		return training.Job{}, err
	}
	j.Version = ver
	return j, nil
}

// putJob stores j if its stored version is expectVersion (0: it must not exist), else ECONFLICT,
// with its retention counted from j.UpdatedAt: every write of a job moves its expiry
// (training.JobRetention).
func (s *Service) putJob(ctx context.Context, j training.Job, expectVersion int64) (training.Job, error) {
	j.ExpiresAt = j.UpdatedAt.Add(training.JobRetention)
	v, err := s.putDoc(ctx, training.DocJob, j.ID, j, expectVersion)
	if err != nil {
		return training.Job{}, err
	}
	j.Version = v
	return j, nil
}

// getJob returns the job, or ENOTFOUND when it does not exist or its retention has passed.
func (s *Service) getJob(ctx context.Context, id string) (training.Job, error) {
	j, err := s.loadJob(ctx, id)
	if err == nil && j.Expired(s.now()) {
		return training.Job{}, training.Errorf(training.ENOTFOUND, "job %s not found (expired %s)", id, j.ExpiresAt.Format(time.RFC3339))
	}
	return j, err
}

// SweepJobs deletes the jobs whose retention has passed and returns how many. It runs after every
// full recompute (jobDone), so the daily schedule sweeps on both stores.
func (s *Service) SweepJobs(ctx context.Context) (int, error) {
	docs, err := s.listAllDocs(ctx, training.DocJob, "")
	if err != nil {
		return 0, err
	}
	now, n := s.now(), 0
	for _, d := range docs {
		var j training.Job
		if err := json.Unmarshal(d.Body, &j); err != nil {
			return n, fmt.Errorf("decode job %s: %w", d.ID, err)
		}
		if !j.Expired(now) {
			continue
		}
		switch err := s.Store.DeleteDoc(ctx, training.DocJob, d.ID, d.Version); {
		case training.ErrorCode(err) == training.ECONFLICT: // written since: no longer expired
		case err != nil:
			return n, err
		default:
			n++
		}
	}
	return n, nil
}

// StartJob creates the job (CreateJob) and hands on a step for each of its unfinished segments.
// A job that exists already (created before it was started, a start delivered twice, a schedule
// retried) is thereby resumed.
func (s *Service) StartJob(ctx context.Context, job RecomputeJob, h StepHandOff) (training.Job, error) {
	j, err := s.CreateJob(ctx, job)
	if err != nil {
		return training.Job{}, err
	}
	return j, handOnUnfinished(ctx, j, h)
}

// ResumeJob hands on a step for every unfinished segment of the job: after a step failed for
// good, each segment continues from its checkpoint. A segment whose step is still running gets a
// second runner; the first checkpoint decides between them and the other stops.
func (s *Service) ResumeJob(ctx context.Context, id string, h StepHandOff) (training.Job, error) {
	j, err := s.getJob(ctx, id)
	if err != nil {
		return training.Job{}, err
	}
	return j, handOnUnfinished(ctx, j, h)
}

func handOnUnfinished(ctx context.Context, j training.Job, h StepHandOff) error {
	if j.State == training.JobDone {
		return nil
	}
	for i, g := range j.Segments {
		if g.Finished {
			continue
		}
		if err := h.HandOn(ctx, JobStep{JobID: j.ID, Segment: i}); err != nil {
			return fmt.Errorf("hand on segment %d of job %s: %w", i, j.ID, err)
		}
	}
	return nil
}

// GetJob returns a job's status, or ENOTFOUND.
func (s *Service) GetJob(ctx context.Context, id string) (training.Job, error) {
	return s.getJob(ctx, id)
}

// RunJobStep runs one step of a job: it lists, recomputes and checkpoints pages of its segment
// (counting the segment with the first page, unless that page is the whole of it) from the checkpoint until the segment ends (it then returns the job) or
// the step's time is up (it then hands on the next step). A failure to list or to checkpoint is
// returned, the checkpoint staying where it was, for the step to be run again; a cadre whose
// recompute fails is counted in Failed and passed to onErr. A step whose segment has moved on
// without it (delivered twice, or overtaken after a resume) stops at its next checkpoint.
func (s *Service) RunJobStep(ctx context.Context, step JobStep, h StepHandOff, onErr func(cadreID string, err error)) (training.Job, error) {
	j, err := s.getJob(ctx, step.JobID)
	if err != nil {
		return training.Job{}, err
	}
	if step.Segment < 0 || step.Segment >= len(j.Segments) {
		return j, training.Errorf(training.EINVALID, "job %s has no segment %d", j.ID, step.Segment)
	}
	seg := j.Segments[step.Segment]
	if j.State == training.JobDone || seg.Finished {
		return j, nil
	}
	total := -1 // counted with the first page's checkpoint (the page itself when it is the last)
	count := !seg.Counted
	for pages := 0; ; pages++ {
		if pages > 0 && stepIsUp(ctx, pages) { // every step does at least one page
			return j, h.HandOn(ctx, step)
		}
		page, next, err := s.listSegment(ctx, step.Segment, j.Unit, seg.Cursor, JobPageSize)
		if err != nil {
			return j, fmt.Errorf("list segment %d of job %s: %w", step.Segment, j.ID, err)
		}
		if count {
			count, total = false, len(page)
			if next != "" {
				if total, err = s.countSegment(ctx, step.Segment, j.Unit); err != nil {
					return j, fmt.Errorf("count segment %d of job %s: %w", step.Segment, j.ID, err)
				}
			}
		}
		ids := make([]string, len(page))
		for i, c := range page {
			ids[i] = c.ID
		}
		res := s.recomputeIDs(ctx, ids, j.AsOf, j.RepairForms, FullRecomputeWorkers, onErr)
		var ok bool
		j, ok, err = s.checkpoint(ctx, step, seg.Cursor, func(g *training.JobSegment) {
			if !g.Counted && total >= 0 {
				g.Counted, g.Total = true, total
			}
			g.Cursor, g.Done, g.Failed, g.Finished = next, g.Done+res.Recomputed, g.Failed+res.Failed, next == ""
		})
		if err != nil || !ok {
			return j, err
		}
		if seg = j.Segments[step.Segment]; seg.Finished {
			if j.State == training.JobDone { // this checkpoint finished the job
				return s.jobDone(ctx, j)
			}
			return j, nil
		}
	}
}

func stepIsUp(ctx context.Context, pages int) bool {
	if deadline, ok := ctx.Deadline(); ok {
		return time.Until(deadline) < stepMargin
	}
	return pages >= stepPages
}

// checkpointMu serialises the job checkpoints this process saves, so that its own segments never
// collide on a job's version (other processes' still may: checkpoint reads again and retries).
var checkpointMu sync.Mutex

// checkpoint applies fn to the step's segment of the stored job, provided the segment is still at
// cursor from and unfinished (else ok is false: another runner moved it on), updates the sums and
// the state, and stores the job under its version, reading it again when another segment's
// checkpoint came in between.
func (s *Service) checkpoint(ctx context.Context, step JobStep, from string, fn func(*training.JobSegment)) (training.Job, bool, error) {
	checkpointMu.Lock()
	defer checkpointMu.Unlock()
	for attempt := 0; ; attempt++ {
		j, err := s.loadJob(ctx, step.JobID)
		if err != nil {
			return training.Job{}, false, err
		}
		g := &j.Segments[step.Segment]
		if g.Cursor != from || g.Finished {
			return j, false, nil
		}
		segs := append([]training.JobSegment(nil), j.Segments...)
		fn(&segs[step.Segment])
		j.Segments = segs
		j.Total, j.Done, j.Failed = 0, 0, 0
		j.State, j.Error = training.JobDone, ""
		for _, g := range segs {
			j.Total, j.Done, j.Failed = j.Total+g.Total, j.Done+g.Done, j.Failed+g.Failed
			if !g.Finished {
				j.State = training.JobRunning
			}
		}
		j.UpdatedAt = s.now().UTC()
		stored, err := s.putJob(ctx, j, j.Version)
		if err == nil {
			return stored, true, nil
		}
		if training.ErrorCode(err) != training.ECONFLICT || attempt >= maxCheckpointRetries {
			return training.Job{}, false, fmt.Errorf("checkpoint segment %d of job %s: %w", step.Segment, step.JobID, err)
		}
		// Another segment saved in between: wait a little (random, growing) before reading again,
		// so that segments finishing together do not keep colliding.
		select {
		case <-ctx.Done():
			return training.Job{}, false, ctx.Err()
		case <-time.After(time.Duration(1+mrand.IntN(5<<min(attempt, 5))) * time.Millisecond):
		}
	}
}

// recomputeIDs recomputes the cadres (with repair: RepairCadre) in batches spread over workers
// (recomputeBatches), counting failures and passing each to onErr.
func (s *Service) recomputeIDs(ctx context.Context, ids []string, asOf training.Date, repair bool, workers int, onErr func(cadreID string, err error)) RecomputeResult {
	workers = max(1, min(workers, len(ids)))
	size := max(1, min(recomputeBatch, (len(ids)+workers-1)/workers))
	batches := make(chan []string, (len(ids)+size-1)/size)
	for i := 0; i < len(ids); i += size {
		batches <- ids[i:min(i+size, len(ids))]
	}
	close(batches)
	return s.recomputeBatches(ctx, batches, asOf, repair, workers, onErr)
}

// RunRecomputeJob runs a whole job in this process: StartJob, with every step run in a goroutine
// of its own (GoroutineSteps), and waits for all of them. The result is the job's final counts;
// the first error of a step is returned (the job status keeps the checkpoints, so ResumeJob or
// running the job again continues it).
func (s *Service) RunRecomputeJob(ctx context.Context, job RecomputeJob, onErr func(cadreID string, err error)) (RecomputeResult, error) {
	g := &GoroutineSteps{Service: s, OnErr: onErr}
	_, err := s.StartJob(ctx, job, g)
	if werr := g.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		s.failJob(ctx, job.JobID, err)
		return RecomputeResult{}, err
	}
	// (The step that finished the job did the daily notices.)
	j, err := s.loadJob(ctx, job.JobID)
	if err != nil {
		return RecomputeResult{}, err
	}
	return RecomputeResult{Recomputed: j.Done, Failed: j.Failed}, nil
}

// failJob marks the job failed with err (best effort: the error is returned to the caller anyway,
// and the checkpoints stay, so a resume continues the job).
func (s *Service) failJob(ctx context.Context, id string, cause error) {
	checkpointMu.Lock()
	defer checkpointMu.Unlock()
	for attempt := 0; attempt < maxCheckpointRetries; attempt++ {
		j, err := s.loadJob(ctx, id)
		if err != nil || j.State == training.JobDone {
			return
		}
		j.State, j.Error, j.UpdatedAt = training.JobFailed, cause.Error(), s.now().UTC()
		if _, err := s.putJob(ctx, j, j.Version); training.ErrorCode(err) != training.ECONFLICT {
			return
		}
	}
}

// jobDone does what follows a full recompute, once, by the step whose checkpoint finished it: the
// daily notice work (DailyNotices: absences of ended classes, the weekly digests on Mondays), then
// the deletion of expired jobs (SweepJobs). When either fails the job is recorded failed with the
// reason.
func (s *Service) jobDone(ctx context.Context, j training.Job) (training.Job, error) {
	var reason string
	if err := s.DailyNotices(ctx); err != nil {
		reason = "the daily notices failed: " + err.Error()
	} else if _, err := s.SweepJobs(ctx); err != nil {
		reason = "deleting the expired jobs failed: " + err.Error()
	}
	if reason == "" {
		return j, nil
	}
	j.State, j.Error, j.UpdatedAt = training.JobFailed, reason, s.now().UTC()
	if stored, perr := s.putJob(ctx, j, j.Version); perr == nil {
		j = stored
	}
	return j, fmt.Errorf("job %s: %s", j.ID, reason)
}

// GoroutineSteps hands on each step to a goroutine of its own: the hand-off of the one-machine
// server. At most localSteps steps run at once (each with FullRecomputeWorkers recomputes), so one
// process does not flood its store. Wait waits for every step handed on (and the steps they hand on).
type GoroutineSteps struct {
	Service *Service
	OnErr   func(cadreID string, err error)

	wg      sync.WaitGroup
	mu      sync.Mutex
	err     error
	running chan struct{}
	once    sync.Once
}

// localSteps is how many steps GoroutineSteps runs at once.
const localSteps = 2

// HandOn runs the step in a new goroutine, once fewer than localSteps are running.
func (g *GoroutineSteps) HandOn(ctx context.Context, step JobStep) error {
	g.once.Do(func() { g.running = make(chan struct{}, localSteps) })
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.running <- struct{}{}
		defer func() { <-g.running }()
		if _, err := g.Service.RunJobStep(context.WithoutCancel(ctx), step, g, g.OnErr); err != nil {
			g.mu.Lock()
			if g.err == nil {
				g.err = err
			}
			g.mu.Unlock()
		}
	}()
	return nil
}

// Wait waits for every step handed on and returns the first error of one.
func (g *GoroutineSteps) Wait() error {
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}
