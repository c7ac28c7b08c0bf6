package bolt

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/cadre-training/cadretrain/shared/training"
	bbolt "go.etcd.io/bbolt"
)

// ---- encoding helpers ----

func key(parts ...string) []byte { return []byte(strings.Join(parts, sep)) }

func u64(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

// getCadre decodes the cadre at id; found is false when there is none.
func getCadre(b *bbolt.Bucket, id []byte, c *training.Cadre) (found bool, err error) {
	v := b.Get(id)
	if v == nil {
		return false, nil
	}
	if err := decodeCadre(v, c); err != nil {
		return true, fmt.Errorf("cadre %q: %w", id, err)
	}
	return true, nil
}

func putCadre(b *bbolt.Bucket, c *training.Cadre) error {
	if err := b.Put([]byte(c.ID), encodeCadre(c)); err != nil {
		return fmt.Errorf("writing cadre %s: %w", c.ID, err)
	}
	return nil
}

// get decodes the JSON value at k into v; found is false when there is none.
func get(b *bbolt.Bucket, k []byte, v any) (found bool, err error) {
	data := b.Get(k)
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("decoding %q: %w", k, err)
	}
	return true, nil
}

func put(b *bbolt.Bucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %q: %w", k, err)
	}
	if err := b.Put(k, data); err != nil {
		return fmt.Errorf("writing %q: %w", k, err)
	}
	return nil
}

func jsonDecode(v []byte, dst any) error {
	if err := json.Unmarshal(v, dst); err != nil {
		return fmt.Errorf("decoding: %w", err)
	}
	return nil
}

func validID(field, id string) error {
	if id == "" || strings.Contains(id, sep) {
		return training.Errorf(training.EINVALID, "%s must be a non-empty id", field)
	}
	return nil
}

// ---- cadres ----

// GetCadre returns the cadre, or ENOTFOUND.
func (s *Store) GetCadre(ctx context.Context, id string) (training.Cadre, error) {
	var c training.Cadre
	var found bool
	err := s.view(func(tx *bbolt.Tx) error {
		var err error
		found, err = getCadre(tx.Bucket(bktCadres), []byte(id), &c)
		return err
	})
	if err != nil {
		return training.Cadre{}, fmt.Errorf("getting cadre %s: %w", id, err)
	}
	if !found {
		return training.Cadre{}, training.Errorf(training.ENOTFOUND, "cadre %s not found", id)
	}
	return c, nil
}

// PutCadre stores c if its stored Version is expectVersion (0: absent), else ECONFLICT.
func (s *Store) PutCadre(ctx context.Context, c training.Cadre, expectVersion int64) (training.Cadre, error) {
	if err := validID("cadre_id", c.ID); err != nil {
		return training.Cadre{}, err
	}
	if strings.Contains(c.Unit, sep) {
		return training.Cadre{}, training.Errorf(training.EINVALID, "unit must not contain NUL")
	}
	c.Version = expectVersion + 1
	var conflict error
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		conflict = nil
		cadres, units := tx.Bucket(bktCadres), tx.Bucket(bktCadreUnits)
		var cur training.Cadre
		found, err := getCadre(cadres, []byte(c.ID), &cur)
		if err != nil {
			return err
		}
		switch {
		case expectVersion == 0 && found:
			conflict = training.Errorf(training.ECONFLICT, "cadre %s already exists", c.ID)
			return nil
		case expectVersion != 0 && !found:
			conflict = training.Errorf(training.ECONFLICT, "cadre %s does not exist", c.ID)
			return nil
		case found && cur.Version != expectVersion:
			conflict = training.Errorf(training.ECONFLICT, "cadre %s was changed concurrently (version %d, expected %d)", c.ID, cur.Version, expectVersion)
			return nil
		}
		if found && cur.Unit != c.Unit {
			if err := units.Delete(key(cur.Unit, cur.ID)); err != nil {
				return fmt.Errorf("deleting unit index: %w", err)
			}
		}
		if err := units.Put(key(c.Unit, c.ID), nil); err != nil {
			return fmt.Errorf("writing unit index: %w", err)
		}
		return putCadre(cadres, &c)
	})
	if err != nil {
		return training.Cadre{}, fmt.Errorf("putting cadre %s: %w", c.ID, err)
	}
	if conflict != nil {
		return training.Cadre{}, conflict
	}
	return c, nil
}

// ListCadres returns a page of the cadres in the unit subtree, ordered by unit, then id.
func (s *Store) ListCadres(ctx context.Context, unitPrefix, cursor string, limit int) ([]training.Cadre, string, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	prefix := strings.TrimSuffix(unitPrefix, "/")
	var after []byte
	if cursor != "" {
		k, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !bytes.Contains(k, []byte(sep)) {
			return nil, "", training.Errorf(training.EINVALID, "unreadable cursor")
		}
		after = k
	}
	var out []training.Cadre
	next := ""
	err := s.view(func(tx *bbolt.Tx) error {
		cadres := tx.Bucket(bktCadres)
		cur := tx.Bucket(bktCadreUnits).Cursor()
		start := []byte(prefix)
		k, _ := cur.Seek(start)
		if after != nil && bytes.Compare(after, start) >= 0 {
			k, _ = cur.Seek(after)
			if bytes.Equal(k, after) {
				k, _ = cur.Next()
			}
		}
		for ; k != nil && bytes.HasPrefix(k, start); k, _ = cur.Next() {
			unit, id, _ := strings.Cut(string(k), sep)
			if !training.InUnit(unit, prefix) {
				continue
			}
			if len(out) == limit {
				next = base64.RawURLEncoding.EncodeToString(key(out[len(out)-1].Unit, out[len(out)-1].ID))
				return nil
			}
			var c training.Cadre
			found, err := getCadre(cadres, []byte(id), &c)
			if err != nil {
				return err
			}
			if !found {
				return fmt.Errorf("unit index names missing cadre %s", id)
			}
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("listing cadres in %q: %w", unitPrefix, err)
	}
	return out, next, nil
}

// ---- form entries ----

// PutFormEntry creates or refreshes the active entry; a withdrawn entry stays as it is.
func (s *Store) PutFormEntry(ctx context.Context, e training.FormEntry) error {
	return s.PutFormEntries(ctx, []training.FormEntry{e})
}

// PutFormEntries puts every entry as PutFormEntry does, in one transaction (one fsync).
func (s *Store) PutFormEntries(ctx context.Context, es []training.FormEntry) error {
	if len(es) == 0 {
		return nil
	}
	for i := range es {
		e := &es[i]
		for _, f := range []struct{ name, v string }{{"cadre_id", e.CadreID}, {"form", string(e.Form)}, {"record_id", e.RecordID}} {
			if err := validID(f.name, f.v); err != nil {
				return err
			}
		}
	}
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bktFormEntries)
		for _, e := range es {
			e.Status, e.Withdrawal = training.EntryActive, nil
			k := key(e.CadreID, string(e.Form), e.RecordID)
			var cur training.FormEntry
			found, err := get(b, k, &cur)
			if err != nil {
				return err
			}
			if found && cur.Status == training.EntryWithdrawn {
				continue
			}
			if err := put(b, k, e); err != nil {
				return fmt.Errorf("putting %s entry of record %s: %w", e.Form, e.RecordID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("putting %d form entries: %w", len(es), err)
	}
	return nil
}

// ListFormEntries returns the cadre's entries in the form, newest start date first, then by record id.
func (s *Store) ListFormEntries(ctx context.Context, cadreID string, form training.FormKind) ([]training.FormEntry, error) {
	var out []training.FormEntry
	err := s.view(func(tx *bbolt.Tx) error {
		prefix := key(cadreID, string(form), "")
		cur := tx.Bucket(bktFormEntries).Cursor()
		for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
			var e training.FormEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decoding form entry %q: %w", k, err)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s entries of cadre %s: %w", form, cadreID, err)
	}
	slices.SortFunc(out, func(a, b training.FormEntry) int {
		if c := b.StartDate.Compare(a.StartDate); c != 0 {
			return c
		}
		return strings.Compare(a.RecordID, b.RecordID)
	})
	return out, nil
}

// WithdrawFormEntries withdraws every active entry of the record, in any form.
func (s *Store) WithdrawFormEntries(ctx context.Context, cadreID, recordID string, w training.Voiding) (int, error) {
	var n int
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		n = 0
		b := tx.Bucket(bktFormEntries)
		prefix := key(cadreID, "")
		var withdrawn []training.FormEntry
		cur := b.Cursor()
		for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
			if !bytes.HasSuffix(k, []byte(sep+recordID)) {
				continue
			}
			var e training.FormEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decoding form entry %q: %w", k, err)
			}
			if e.RecordID != recordID || e.Status == training.EntryWithdrawn {
				continue
			}
			ww := w
			e.Status, e.Withdrawal = training.EntryWithdrawn, &ww
			withdrawn = append(withdrawn, e)
		}
		for _, e := range withdrawn { // written after the scan: no writes under a moving cursor
			if err := put(b, key(e.CadreID, string(e.Form), e.RecordID), e); err != nil {
				return err
			}
		}
		n = len(withdrawn)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("withdrawing form entries of record %s: %w", recordID, err)
	}
	return n, nil
}
