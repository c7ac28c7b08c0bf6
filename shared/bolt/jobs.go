package bolt

import (
	"context"
	"encoding/json"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/cadre-training/cadretrain/shared/training"
)

// PutJob stores the job's progress (bucket jobs, key the job id, value its JSON).
func (s *Store) PutJob(ctx context.Context, j training.Job) error {
	if j.ID == "" {
		return training.Errorf(training.EINVALID, "a job needs an id")
	}
	v, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("encoding job %s: %w", j.ID, err)
	}
	if err := s.update(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bktJobs).Put([]byte(j.ID), v)
	}); err != nil {
		return fmt.Errorf("putting job %s: %w", j.ID, err)
	}
	return nil
}

// GetJob returns the job, or ENOTFOUND.
func (s *Store) GetJob(ctx context.Context, id string) (training.Job, error) {
	var (
		j     training.Job
		found bool
	)
	err := s.view(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bktJobs).Get([]byte(id))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &j)
	})
	if err != nil {
		return training.Job{}, fmt.Errorf("getting job %s: %w", id, err)
	}
	if !found {
		return training.Job{}, training.Errorf(training.ENOTFOUND, "no job %s", id)
	}
	return j, nil
}
