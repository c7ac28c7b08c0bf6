package app

import (
	"context"

	"github.com/cadre-training/cadretrain/shared/training"
)

// RecomputeChanged is the work of the recompute-quota stream consumer on one batch of record
// changes: each cadre whose records changed is recomputed once, at its first change in the batch
// (a later change of the same cadre is already in the records the recompute reads). A change for
// an unknown cadre is skipped. On an error it returns the index of the change it failed at: the
// caller retries the batch from there (earlier changes are done), which keeps per-cadre order.
// Undecodable changes are the caller's to dead-letter; they are skipped here.
func (s *Service) RecomputeChanged(ctx context.Context, changes []training.Change) (int, error) {
	done := make(map[string]bool, len(changes))
	for i, ch := range changes {
		if ch.Undecodable != "" || ch.CadreID == "" || done[ch.CadreID] {
			continue
		}
		if _, err := s.Recompute(ctx, ch.CadreID, training.Date{}); err != nil && training.ErrorCode(err) != training.ENOTFOUND {
			return i, err
		}
		done[ch.CadreID] = true
	}
	return -1, nil
}

// EnterChangedForms is the work of the write-form-entries stream consumer on one batch of record
// changes: every changed full-time centralized record has its form entries brought in line with
// the record as the change carries it (SyncFormEntries; docs/rules.md, Forms), without
// reading it again. Other records cost nothing. On an error it returns the index of the change
// it failed at, as RecomputeChanged.
func (s *Service) EnterChangedForms(ctx context.Context, changes []training.Change) (int, error) {
	for i, ch := range changes {
		if ch.Undecodable != "" || ch.New == nil || ch.New.Kind != training.KindCentralized || !ch.New.FullTime {
			continue
		}
		if err := s.SyncFormEntries(ctx, *ch.New); err != nil {
			return i, err
		}
	}
	return -1, nil
}
