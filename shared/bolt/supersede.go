package bolt

import (
	"context"
	"fmt"
	"strings"

	"github.com/cadre-training/cadretrain/shared/training"
	bbolt "go.etcd.io/bbolt"
)

// SupersedeRecord stores r and voids the record oldID with v in one transaction; see
// training.RecordStore. The checks come first, so a refused supersede writes nothing.
func (s *Store) SupersedeRecord(ctx context.Context, r training.Record, oldID string, v training.Voiding) (training.Record, training.CreateOutcome, error) {
	if err := validID("cadre_id", r.CadreID); err != nil {
		return training.Record{}, "", err
	}
	if r.ID == "" || r.ID != training.RecordID(r.Source, r.ExternalID) || r.ContentHash == "" {
		return training.Record{}, "", training.Errorf(training.EINVALID, "record is not sealed")
	}
	if strings.Contains(r.Source, sep) {
		return training.Record{}, "", training.Errorf(training.EINVALID, "source must not contain NUL")
	}
	if oldID == r.ID {
		return training.Record{}, "", training.Errorf(training.EINVALID, "a record cannot supersede itself")
	}
	if r.Status == "" {
		r.Status = training.StatusActive
	}
	var (
		out      training.Record
		outcome  training.CreateOutcome
		notFound bool
	)
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		out, outcome, notFound = training.Record{}, "", false
		// The record id is derived from the idempotency key, so rec_ids is the idempotency index.
		stored, _, found, err := getRecord(tx, []byte(r.ID))
		if err != nil {
			return err
		}
		if found {
			if stored.Source != r.Source || stored.ExternalID != r.ExternalID {
				return fmt.Errorf("record id %s of key (%q, %q) is taken by key (%q, %q)", r.ID, r.Source, r.ExternalID, stored.Source, stored.ExternalID)
			}
			out, outcome = stored, training.Conflict
			if stored.ContentHash == r.ContentHash {
				outcome = training.Duplicate
			}
			return nil
		}
		old, _, found, err := getRecord(tx, []byte(oldID))
		if err != nil {
			return err
		}
		if !found || old.CadreID != r.CadreID {
			notFound = true
			return nil
		}
		if err := putRecord(tx, &r); err != nil {
			return err
		}
		nr := r
		if err := s.appendChange(tx, training.Change{Kind: training.ChangeInsert, CadreID: r.CadreID, RecordID: r.ID, New: &nr}); err != nil {
			return err
		}
		if old.Status != training.StatusVoided {
			voided, vv := old, v
			voided.Status, voided.Void = training.StatusVoided, &vv
			if err := putRecord(tx, &voided); err != nil {
				return err
			}
			if err := s.appendChange(tx, training.Change{Kind: training.ChangeModify, CadreID: old.CadreID, RecordID: oldID, Old: &old, New: &voided}); err != nil {
				return err
			}
		}
		out, outcome = r, training.Created
		return nil
	})
	if err != nil {
		return training.Record{}, "", fmt.Errorf("creating record %s superseding %s: %w", r.ID, oldID, err)
	}
	if notFound {
		return training.Record{}, "", training.Errorf(training.ENOTFOUND, "record %s of cadre %s not found", oldID, r.CadreID)
	}
	return out, outcome, nil
}
