package bolt

import (
	"fmt"

	"github.com/cadre-training/cadretrain/shared/training"
	bbolt "go.etcd.io/bbolt"
)

// migrateBatch is how many format 1 records one migration transaction moves (a variable for tests).
var migrateBatch = 20000

// migrateV1 moves the records of a format 1 file (JSON, keyed by id, with the cadre_records and
// record_keys indexes) into recs and rec_ids, migrateBatch per transaction, deleting each from
// the old bucket in the same transaction, so an interrupted migration resumes where it stopped.
// Snapshots and changes stay JSON until rewritten (both encodings are read). The old buckets are
// dropped and the format set to 2 at the end.
func (s *Store) migrateV1() error {
	for {
		var moved int
		err := safeUpdate(s.db, func(tx *bbolt.Tx) error {
			old := tx.Bucket(bktV1Records)
			if old == nil {
				return nil
			}
			var ids [][]byte
			cur := old.Cursor()
			for k, v := cur.First(); k != nil && len(ids) < migrateBatch; k, v = cur.Next() {
				var r training.Record
				if err := jsonDecode(v, &r); err != nil {
					return fmt.Errorf("migrating record %q: %w", k, err)
				}
				if err := putRecord(tx, &r); err != nil {
					return err
				}
				ids = append(ids, append([]byte(nil), k...))
			}
			for _, k := range ids {
				if err := old.Delete(k); err != nil {
					return err
				}
			}
			moved = len(ids)
			return nil
		})
		if err != nil {
			return fmt.Errorf("migrating to format %d: %w", formatVersion, err)
		}
		if moved < migrateBatch {
			break
		}
	}
	return safeUpdate(s.db, func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bktV1Records, bktV1RecordKeys, bktV1CadreRecords} {
			if tx.Bucket(b) != nil {
				if err := tx.DeleteBucket(b); err != nil {
					return fmt.Errorf("dropping format 1 bucket %s: %w", b, err)
				}
			}
		}
		return tx.Bucket(bktMeta).Put(metaFormat, []byte{formatVersion})
	})
}
