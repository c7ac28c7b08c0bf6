package bolt

import (
	"context"
	"fmt"
	"slices"
	"time"

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

// DeleteExpiredJobs deletes the jobs expired at now (training.JobSweeper) in one transaction and
// returns how many. The jobs bucket holds one small value per job, so reading it whole is cheap.
func (s *Store) DeleteExpiredJobs(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		n = 0
		b := tx.Bucket(bktJobs)
		var expired [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var j training.Job
			if err := jsonDecode(v, &j); err != nil {
				return fmt.Errorf("job %s: %w", k, err)
			}
			if j.Expired(now) {
				expired = append(expired, slices.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range expired {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(expired)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("deleting expired jobs: %w", err)
	}
	return n, nil
}
