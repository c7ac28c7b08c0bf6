package bolt

import (
	"context"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/cadre-training/cadretrain/shared/training"
)

// PutJob stores the job (bucket jobs, key the job id, value its JSON) if its stored Version is
// expectVersion (0: absent), else ECONFLICT.
func (s *Store) PutJob(ctx context.Context, j training.Job, expectVersion int64) (training.Job, error) {
	if err := validID("job_id", j.ID); err != nil {
		return training.Job{}, err
	}
	j.Version = expectVersion + 1
	var conflict error
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		conflict = nil
		b := tx.Bucket(bktJobs)
		var cur training.Job
		found, err := get(b, []byte(j.ID), &cur)
		if err != nil {
			return err
		}
		switch {
		case expectVersion == 0 && found:
			conflict = training.Errorf(training.ECONFLICT, "job %s already exists", j.ID)
			return nil
		case expectVersion != 0 && !found:
			conflict = training.Errorf(training.ECONFLICT, "job %s does not exist", j.ID)
			return nil
		case found && cur.Version != expectVersion:
			conflict = training.Errorf(training.ECONFLICT, "job %s was changed concurrently (version %d, expected %d)", j.ID, cur.Version, expectVersion)
			return nil
		}
		return put(b, []byte(j.ID), j)
	})
	if err != nil {
		return training.Job{}, fmt.Errorf("putting job %s: %w", j.ID, err)
	}
	if conflict != nil {
		return training.Job{}, conflict
	}
	return j, nil
}

// GetJob returns the job, or ENOTFOUND.
func (s *Store) GetJob(ctx context.Context, id string) (training.Job, error) {
	var j training.Job
	var found bool
	err := s.view(func(tx *bbolt.Tx) error {
		var err error
		found, err = get(tx.Bucket(bktJobs), []byte(id), &j)
		return err
	})
	if err != nil {
		return training.Job{}, fmt.Errorf("getting job %s: %w", id, err)
	}
	if !found {
		return training.Job{}, training.Errorf(training.ENOTFOUND, "job %s not found", id)
	}
	return j, nil
}
