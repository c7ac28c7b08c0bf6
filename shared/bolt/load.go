package bolt

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/cadre-training/cadretrain/shared/training"
	bbolt "go.etcd.io/bbolt"
)

// Load is the bulk path for seeding and imports: it stores new cadres (Version 1) and new sealed
// records in one transaction, keys in order and pages filled, appending NO change to the feed
// (so no form entries or snapshots follow by themselves: recompute afterwards). A cadre or
// record that exists already fails the whole call with ECONFLICT; nothing is written then.
func (s *Store) Load(ctx context.Context, cadres []training.Cadre, records []training.Record) error {
	for i := range cadres {
		c := &cadres[i]
		if err := validID("cadre_id", c.ID); err != nil {
			return err
		}
		if c.Version == 0 {
			c.Version = 1
		}
	}
	for i := range records {
		r := &records[i]
		if err := validID("cadre_id", r.CadreID); err != nil {
			return err
		}
		if r.ID == "" || r.ID != training.RecordID(r.Source, r.ExternalID) || r.ContentHash == "" {
			return training.Errorf(training.EINVALID, "record %d is not sealed", i)
		}
		if r.Status == "" {
			r.Status = training.StatusActive
		}
	}
	type kv struct{ k, v []byte }
	recs := make([]kv, len(records))
	for i := range records {
		recs[i] = kv{recKey(&records[i]), encodeRecord(&records[i])}
	}
	slices.SortFunc(recs, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
	var conflict error
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		conflict = nil
		cb, ub, rb, ib := tx.Bucket(bktCadres), tx.Bucket(bktCadreUnits), tx.Bucket(bktRecs), tx.Bucket(bktRecIDs)
		cb.FillPercent, ub.FillPercent, rb.FillPercent = 0.9, 0.9, 0.9
		for _, c := range cadres {
			if cb.Get([]byte(c.ID)) != nil {
				conflict = training.Errorf(training.ECONFLICT, "cadre %s already exists", c.ID)
				return conflict
			}
			if err := putCadre(cb, &c); err != nil {
				return err
			}
			if err := ub.Put(key(c.Unit, c.ID), nil); err != nil {
				return err
			}
		}
		for _, r := range recs {
			id := r.k[bytes.IndexByte(r.k, 0)+5:]
			if ib.Get(id) != nil {
				conflict = training.Errorf(training.ECONFLICT, "record %s already exists", id)
				return conflict
			}
			if err := rb.Put(r.k, r.v); err != nil {
				return err
			}
			if err := ib.Put(id, r.k[:len(r.k)-len(id)]); err != nil {
				return err
			}
		}
		return nil
	})
	if conflict != nil {
		return conflict
	}
	if err != nil {
		return fmt.Errorf("loading %d cadres and %d records: %w", len(cadres), len(records), err)
	}
	return nil
}
