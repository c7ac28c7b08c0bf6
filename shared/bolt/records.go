package bolt

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/cadre-training/cadretrain/shared/training"
	bbolt "go.etcd.io/bbolt"
)

// dateKey is 99999999 − yyyymmdd of d (clamped to years 0…9999), big-endian: ascending keys are
// newest dates first.
func dateKey(d training.Date) [4]byte {
	y := min(max(d.Year, 0), 9999)
	n := uint32(y*10000 + int(d.Month)*100 + d.Day)
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], 99999999-n)
	return b
}

// recPrefix is the start of the cadre's archive range in recs.
func recPrefix(cadreID string) []byte { return []byte(cadreID + sep) }

func recKey(r *training.Record) []byte {
	dk := dateKey(r.AttributionDate())
	k := make([]byte, 0, len(r.CadreID)+1+4+len(r.ID))
	k = append(k, r.CadreID...)
	k = append(k, sep...)
	k = append(k, dk[:]...)
	return append(k, r.ID...)
}

// getRecord reads the record with the id; found is false when there is none.
func getRecord(tx *bbolt.Tx, id []byte) (r training.Record, k []byte, found bool, err error) {
	at := tx.Bucket(bktRecIDs).Get(id)
	if at == nil {
		return r, nil, false, nil
	}
	k = at
	if !bytes.HasSuffix(at, id) { // the value is the key without the id (an early format 2 file has the whole key)
		k = append(append(make([]byte, 0, len(at)+len(id)), at...), id...)
	}
	v := tx.Bucket(bktRecs).Get(k)
	if v == nil {
		return r, nil, false, fmt.Errorf("record index names missing record %s", id)
	}
	if err := decodeRecord(v, &r); err != nil {
		return r, nil, true, fmt.Errorf("record %s: %w", id, err)
	}
	return r, k, true, nil
}

// putRecord writes r (new or changed; its key never changes: the attribution date is content).
func putRecord(tx *bbolt.Tx, r *training.Record) error {
	return putEncodedRecord(tx, r, recKey(r), encodeRecord(r))
}

// putEncodedRecord is putRecord with r's key and encoding made beforehand.
func putEncodedRecord(tx *bbolt.Tx, r *training.Record, k, v []byte) error {
	if err := tx.Bucket(bktRecs).Put(k, v); err != nil {
		return fmt.Errorf("writing record %s: %w", r.ID, err)
	}
	if err := tx.Bucket(bktRecIDs).Put([]byte(r.ID), k[:len(k)-len(r.ID)]); err != nil {
		return fmt.Errorf("writing record index: %w", err)
	}
	return nil
}

// CreateRecord stores r unless its key (Source, ExternalID) exists; see training.RecordStore.
func (s *Store) CreateRecord(ctx context.Context, r training.Record) (training.Record, training.CreateOutcome, error) {
	return s.createRecord(ctx, r, "", training.Voiding{})
}

// SupersedeRecord stores r and voids the record oldID with v in one transaction; see
// training.RecordStore. The checks come first, so a refused supersede writes nothing.
func (s *Store) SupersedeRecord(ctx context.Context, r training.Record, oldID string, v training.Voiding) (training.Record, training.CreateOutcome, error) {
	if oldID == r.ID {
		return training.Record{}, "", training.Errorf(training.EINVALID, "a record cannot supersede itself")
	}
	return s.createRecord(ctx, r, oldID, v)
}

// createRecord is CreateRecord and, with oldID set, SupersedeRecord: r is created unless its key
// exists, and the record oldID of the same cadre (else ENOTFOUND, writing nothing) is voided with
// v in the same transaction unless it is voided already.
func (s *Store) createRecord(ctx context.Context, r training.Record, oldID string, v training.Voiding) (training.Record, training.CreateOutcome, error) {
	if err := r.CheckSealed(); err != nil {
		return training.Record{}, "", err
	}
	if strings.Contains(r.Source, sep) {
		return training.Record{}, "", training.Errorf(training.EINVALID, "source must not contain NUL")
	}
	if r.Status == "" {
		r.Status = training.StatusActive
	}
	var (
		out      training.Record
		outcome  training.CreateOutcome
		notFound bool
	)
	// Encoded before the transaction: the writer runs one at a time.
	key, val := recKey(&r), encodeRecord(&r)
	change := encodeChangeOf(&training.Change{Kind: training.ChangeInsert, CadreID: r.CadreID, RecordID: r.ID}, nil, val)
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
		var old training.Record
		if oldID != "" {
			if old, _, found, err = getRecord(tx, []byte(oldID)); err != nil {
				return err
			}
			if !found || old.CadreID != r.CadreID {
				notFound = true
				return nil
			}
		}
		if err := putEncodedRecord(tx, &r, key, val); err != nil {
			return err
		}
		if err := s.appendEncodedChange(tx, change); err != nil {
			return err
		}
		if oldID != "" && old.Status != training.StatusVoided {
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
	switch {
	case err != nil && oldID != "":
		return training.Record{}, "", fmt.Errorf("creating record %s superseding %s: %w", r.ID, oldID, err)
	case err != nil:
		return training.Record{}, "", fmt.Errorf("creating record %s: %w", r.ID, err)
	case notFound:
		return training.Record{}, "", training.Errorf(training.ENOTFOUND, "record %s of cadre %s not found", oldID, r.CadreID)
	}
	return out, outcome, nil
}

// GetRecord returns the record, or ENOTFOUND.
func (s *Store) GetRecord(ctx context.Context, id string) (training.Record, error) {
	var r training.Record
	var found bool
	err := s.view(func(tx *bbolt.Tx) error {
		var err error
		r, _, found, err = getRecord(tx, []byte(id))
		return err
	})
	if err != nil {
		return training.Record{}, fmt.Errorf("getting record %s: %w", id, err)
	}
	if !found {
		return training.Record{}, training.Errorf(training.ENOTFOUND, "record %s not found", id)
	}
	return r, nil
}

// scanRecords appends to out the cadre's records after the key `after` (nil: from the start)
// with attribution dates in [from, to] (zero: unbounded), newest first, at most limit (≤ 0: all).
// It returns the last key read.
func scanRecords(tx *bbolt.Tx, cadreID string, after []byte, from, to training.Date, limit int, out *[]training.Record) ([]byte, error) {
	prefix := recPrefix(cadreID)
	start := prefix
	if !to.IsZero() {
		dk := dateKey(to)
		start = append(append([]byte(nil), prefix...), dk[:]...)
	}
	var stop []byte // first key past the range
	if !from.IsZero() {
		dk := dateKey(from)
		stop = append(append([]byte(nil), prefix...), dk[:]...)
		stop = append(stop, 0xff)
	}
	cur := tx.Bucket(bktRecs).Cursor()
	first := func() (k, v []byte) {
		if after != nil && bytes.Compare(after, start) >= 0 {
			k, v = cur.Seek(after)
			if bytes.Equal(k, after) {
				k, v = cur.Next()
			}
			return k, v
		}
		return cur.Seek(start)
	}
	in := func(k []byte) bool {
		return k != nil && bytes.HasPrefix(k, prefix) && (stop == nil || bytes.Compare(k, stop) < 0)
	}
	// Count the range first (keys only), so the records are decoded in place into a slice of the
	// right size: a Record is large, and growing the slice copied each one several times.
	n := 0
	for k, _ := first(); in(k) && (limit <= 0 || len(*out)+n < limit); k, _ = cur.Next() {
		n++
	}
	*out = slices.Grow(*out, n)
	var last []byte
	for k, v := first(); in(k); k, v = cur.Next() {
		if limit > 0 && len(*out) == limit {
			return last, nil
		}
		*out = append(*out, training.Record{})
		if err := decodeRecord(v, &(*out)[len(*out)-1]); err != nil {
			*out = (*out)[:len(*out)-1]
			return nil, fmt.Errorf("record %q: %w", k[len(prefix):], err)
		}
		last = k
	}
	return nil, nil
}

// ListRecords returns every record of the cadre, newest attribution date first, then by id.
func (s *Store) ListRecords(ctx context.Context, cadreID string) ([]training.Record, error) {
	var out []training.Record
	err := s.view(func(tx *bbolt.Tx) error {
		_, err := scanRecords(tx, cadreID, nil, training.Date{}, training.Date{}, 0, &out)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing records of cadre %s: %w", cadreID, err)
	}
	return out, nil
}

// ListRecordsPage returns a page of the cadre's archive in ListRecords order; see
// training.RecordStore. The cursor is the last returned key (without the cadre), base64url.
func (s *Store) ListRecordsPage(ctx context.Context, cadreID, cursor string, limit int) ([]training.Record, string, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	var after []byte
	if cursor != "" {
		k, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(k) < 5 {
			return nil, "", training.Errorf(training.EINVALID, "unreadable cursor")
		}
		after = append(recPrefix(cadreID), k...)
	}
	out := []training.Record{}
	var next string
	err := s.view(func(tx *bbolt.Tx) error {
		last, err := scanRecords(tx, cadreID, after, training.Date{}, training.Date{}, limit, &out)
		if last != nil {
			next = base64.RawURLEncoding.EncodeToString(last[len(recPrefix(cadreID)):])
		}
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("listing records of cadre %s: %w", cadreID, err)
	}
	return out, next, nil
}

// CadreWithRecords returns the cadre and its records attributed in span(cadre), read in one
// transaction with one range scan; see training.RecordStore.
func (s *Store) CadreWithRecords(ctx context.Context, cadreID string, span func(training.Cadre) (from, to training.Date)) (training.Cadre, []training.Record, error) {
	var c training.Cadre
	var recs []training.Record // sized by scanRecords
	var found bool
	err := s.view(func(tx *bbolt.Tx) error {
		var err error
		if found, err = getCadre(tx.Bucket(bktCadres), []byte(cadreID), &c); err != nil || !found {
			return err
		}
		var from, to training.Date
		if span != nil {
			from, to = span(c)
		}
		_, err = scanRecords(tx, cadreID, nil, from, to, 0, &recs)
		return err
	})
	if err != nil {
		return training.Cadre{}, nil, fmt.Errorf("reading cadre %s with records: %w", cadreID, err)
	}
	if !found {
		return training.Cadre{}, nil, training.Errorf(training.ENOTFOUND, "cadre %s not found", cadreID)
	}
	if recs == nil {
		recs = []training.Record{}
	}
	return c, recs, nil
}

// VoidRecord marks the record voided with v, unless it already is; ENOTFOUND.
func (s *Store) VoidRecord(ctx context.Context, id string, v training.Voiding) (training.Record, bool, error) {
	var out training.Record
	var changed bool
	var notFound bool
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		changed, notFound = false, false
		old, _, found, err := getRecord(tx, []byte(id))
		if err != nil {
			return err
		}
		if !found {
			notFound = true
			return nil
		}
		if old.Status == training.StatusVoided {
			out = old
			return nil
		}
		nr := old
		vv := v
		nr.Status, nr.Void = training.StatusVoided, &vv
		if err := putRecord(tx, &nr); err != nil {
			return err
		}
		if err := s.appendChange(tx, training.Change{Kind: training.ChangeModify, CadreID: nr.CadreID, RecordID: id, Old: &old, New: &nr}); err != nil {
			return err
		}
		out, changed = nr, true
		return nil
	})
	if err != nil {
		return training.Record{}, false, fmt.Errorf("voiding record %s: %w", id, err)
	}
	if notFound {
		return training.Record{}, false, training.Errorf(training.ENOTFOUND, "record %s not found", id)
	}
	return out, changed, nil
}

// ---- snapshots ----

// putSnapshot writes st unless the stored snapshot was computed later or has the same status
// (everything but ComputedAt: the same body, compared as bytes); it reports whether it wrote. A
// same status stored in an older encoding is rewritten in the current one, with its ComputedAt,
// so it is decoded once, not at every recompute (that is not a write of st: false). buf is
// scratch space for the body.
func putSnapshot(b *bbolt.Bucket, st *training.Status, buf []byte) (bool, []byte, error) {
	body := appendStatusBody(buf[:0], st)
	id := []byte(st.CadreID)
	if cur := b.Get(id); cur != nil {
		curBody, at, current, err := storedStatusBody(cur)
		if err != nil {
			return false, body, err
		}
		if at.After(st.ComputedAt) {
			return false, body, nil
		}
		if bytes.Equal(curBody, body) {
			if !current {
				if err := b.Put(id, encodeStatus(curBody, at)); err != nil {
					return false, body, fmt.Errorf("rewriting snapshot: %w", err)
				}
			}
			return false, body, nil
		}
	}
	if err := b.Put(id, encodeStatus(body, st.ComputedAt)); err != nil {
		return false, body, fmt.Errorf("writing snapshot: %w", err)
	}
	return true, body, nil
}

// recomputeFill is how full the pages of snapshots and report facts are filled when they split.
// A fan-out writes them in key order (cadres by unit, then id), so bbolt's default (half full)
// would leave every page half empty after a first recompute; later rewrites of a status keep its
// size, or nearly.
const recomputeFill = 0.9

// PutSnapshot stores st unless the stored snapshot was computed later or is the same status.
func (s *Store) PutSnapshot(ctx context.Context, st training.Status) error {
	_, err := s.PutSnapshots(ctx, []training.Status{st})
	return err
}

// PutSnapshots stores each status as PutSnapshot does, in one transaction, and returns how many
// it wrote.
func (s *Store) PutSnapshots(ctx context.Context, sts []training.Status) (int, error) {
	for _, st := range sts {
		if err := validID("cadre_id", st.CadreID); err != nil {
			return 0, err
		}
	}
	if len(sts) == 0 {
		return 0, nil
	}
	var n int
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		n = 0
		b := tx.Bucket(bktSnapshots)
		b.FillPercent = recomputeFill
		var buf []byte
		for i := range sts {
			var wrote bool
			var err error
			wrote, buf, err = putSnapshot(b, &sts[i], buf)
			if err != nil {
				return fmt.Errorf("snapshot of cadre %s: %w", sts[i].CadreID, err)
			}
			if wrote {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("putting %d snapshots: %w", len(sts), err)
	}
	return n, nil
}

// SnapshotUnlessSame tells whether st says the same as the cadre's stored snapshot (everything
// but ComputedAt) by comparing the encoded bodies, and decodes the stored one only when it
// differs and decode is set (app.SnapshotComparer); stored is nil when there is none. A snapshot
// of an older encoding is never reported the same: PutSnapshots is to rewrite it (putSnapshot).
func (s *Store) SnapshotUnlessSame(ctx context.Context, st training.Status, decode bool) (stored *training.Status, same bool, err error) {
	body := appendStatusBody(make([]byte, 0, 512), &st)
	err = s.view(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bktSnapshots).Get([]byte(st.CadreID))
		if v == nil {
			return nil
		}
		cur, _, current, err := storedStatusBody(v)
		if err != nil {
			return err
		}
		if same = current && bytes.Equal(cur, body); same || !decode {
			return nil
		}
		stored = new(training.Status)
		return decodeStatus(v, stored)
	})
	if err != nil {
		return nil, false, fmt.Errorf("comparing snapshot of cadre %s: %w", st.CadreID, err)
	}
	return stored, same, nil
}

// GetSnapshot returns the cadre's snapshot, or ENOTFOUND.
func (s *Store) GetSnapshot(ctx context.Context, cadreID string) (training.Status, error) {
	var st training.Status
	var found bool
	err := s.view(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bktSnapshots).Get([]byte(cadreID))
		if v == nil {
			return nil
		}
		found = true
		return decodeStatus(v, &st)
	})
	if err != nil {
		return training.Status{}, fmt.Errorf("getting snapshot of cadre %s: %w", cadreID, err)
	}
	if !found {
		return training.Status{}, training.Errorf(training.ENOTFOUND, "no snapshot of cadre %s", cadreID)
	}
	return st, nil
}
