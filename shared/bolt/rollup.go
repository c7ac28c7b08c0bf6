package bolt

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cadre-training/cadretrain/shared/training"
	bbolt "go.etcd.io/bbolt"
)

// Facts and unit rollups (training.RollupStore). Buckets, created by the first PutFacts:
//
//	facts         year NUL cadre id              → unit   (where the cadre's facts of the year are)
//	facts_units   year NUL unit NUL cadre id     → Facts  (binary, codec.go; ListFacts: by unit, then id)
//	facts_makeup  year NUL unit NUL cadre id     → (empty) the 补训 list: facts with a Makeup reason
//	rollups       year NUL unit                  → Tally  (the sum of the unit's facts)
//
// The year is four decimal digits, so a year's keys are one contiguous run. PutFacts changes all
// four in one transaction.
var (
	bktFacts       = []byte("facts")
	bktFactsUnits  = []byte("facts_units")
	bktFactsMakeup = []byte("facts_makeup")
	bktRollups     = []byte("rollups")
)

func yearKey(y int) string { return fmt.Sprintf("%04d", y) }

// GetFacts returns the cadre's stored facts of each of years that has them.
func (s *Store) GetFacts(ctx context.Context, cadreID string, years []int) (map[int]training.Facts, error) {
	out := map[int]training.Facts{}
	err := s.view(func(tx *bbolt.Tx) error {
		for _, y := range years {
			f, found, err := storedFacts(tx, cadreID, y)
			if err != nil {
				return err
			}
			if found {
				out[y] = f
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("getting facts of cadre %s: %w", cadreID, err)
	}
	return out, nil
}

func storedFacts(tx *bbolt.Tx, cadreID string, year int) (training.Facts, bool, error) {
	v, _, err := storedFactsValue(tx, cadreID, year, "")
	if v == nil || err != nil {
		return training.Facts{}, false, err
	}
	var f training.Facts
	return f, true, decodeFacts(v, &f)
}

// storedFactsValue returns the stored value of the cadre's facts of the year (nil when none) and
// the key it is at in facts_units. It looks under unitHint first (the unit of the new facts:
// usually where the stored ones are; facts_units holds one entry per cadre and year, at the unit
// the facts bucket names), then asks the facts bucket.
func storedFactsValue(tx *bbolt.Tx, cadreID string, year int, unitHint string) ([]byte, []byte, error) {
	ptr, units := tx.Bucket(bktFacts), tx.Bucket(bktFactsUnits)
	if ptr == nil || units == nil {
		return nil, nil, nil
	}
	if unitHint != "" {
		k := key(yearKey(year), unitHint, cadreID)
		if v := units.Get(k); v != nil {
			return v, k, nil
		}
	}
	unit := ptr.Get(key(yearKey(year), cadreID))
	if unit == nil {
		return nil, nil, nil
	}
	k := key(yearKey(year), string(unit), cadreID)
	v := units.Get(k)
	if v == nil {
		return nil, nil, fmt.Errorf("facts index names missing facts of cadre %s in %d", cadreID, year)
	}
	return v, k, nil
}

// factsUnchanged reports whether the stored facts of f's cadre and year make f change nothing:
// they were computed later, or say the same (Same: their bodies are equal, compared as bytes;
// body is f's); legacy says they are stored in format 1's JSON (putFactsTx rewrites them).
func factsUnchanged(tx *bbolt.Tx, f *training.Facts, body []byte) (unchanged, legacy bool, err error) {
	v, _, err := storedFactsValue(tx, f.CadreID, f.Year, f.Unit)
	if v == nil || err != nil {
		return false, false, err
	}
	curBody, at, err := storedFactsBody(v)
	if err != nil {
		return false, false, err
	}
	return at.After(f.ComputedAt) || bytes.Equal(curBody, body), v[0] == '{', nil
}

// PutFacts stores the facts and moves each cadre's contribution between unit rollups, all in one
// transaction. A first read-only look leaves out the facts that would change nothing (comparing
// encoded bodies, so unchanged facts are not decoded), and skips the write when none would. The
// rollup changes are summed per unit first: one read and write of each unit's rollup. Facts of
// format 1 (JSON) that stay as they are get rewritten in the binary encoding, unchanged otherwise.
func (s *Store) PutFacts(ctx context.Context, fs ...training.Facts) error {
	for _, f := range fs {
		if err := validID("cadre_id", f.CadreID); err != nil {
			return err
		}
		if strings.Contains(f.Unit, sep) || f.Year < 1 || f.Year > 9999 {
			return training.Errorf(training.EINVALID, "facts of cadre %s: bad unit or year", f.CadreID)
		}
	}
	type pending struct {
		f    *training.Facts
		body []byte
	}
	var changed []pending
	err := s.view(func(tx *bbolt.Tx) error {
		var buf []byte
		for i := range fs {
			buf = appendFactsBody(buf[:0], &fs[i])
			same, legacy, err := factsUnchanged(tx, &fs[i], buf)
			if err != nil {
				return err
			}
			if !same || legacy {
				changed = append(changed, pending{&fs[i], bytes.Clone(buf)})
			}
		}
		return nil
	})
	if err != nil || len(changed) == 0 {
		return err
	}
	err = s.update(ctx, func(tx *bbolt.Tx) error {
		var bkts [4]*bbolt.Bucket
		for i, name := range [][]byte{bktFacts, bktFactsUnits, bktFactsMakeup, bktRollups} {
			b, err := tx.CreateBucketIfNotExists(name)
			if err != nil {
				return err
			}
			b.FillPercent = recomputeFill
			bkts[i] = b
		}
		deltas := map[string]training.Tally{}
		for _, p := range changed {
			if err := putFactsTx(tx, bkts, p.f, p.body, deltas); err != nil {
				return fmt.Errorf("facts of cadre %s for %d: %w", p.f.CadreID, p.f.Year, err)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(deltas)) {
			if err := addRollup(bkts[3], []byte(k), deltas[k]); err != nil {
				return fmt.Errorf("rollup %q: %w", k, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("putting facts: %w", err)
	}
	return nil
}

// putFactsTx stores f (body: its encoded body) unless it changes nothing, and adds the move of
// its contribution to deltas (rollup key → change).
func putFactsTx(tx *bbolt.Tx, bkts [4]*bbolt.Bucket, f *training.Facts, body []byte, deltas map[string]training.Tally) error {
	ptr, units, makeup := bkts[0], bkts[1], bkts[2]
	y := yearKey(f.Year)
	v, oldKey, err := storedFactsValue(tx, f.CadreID, f.Year, f.Unit)
	if err != nil {
		return err
	}
	if v != nil {
		curBody, at, err := storedFactsBody(v)
		if err != nil {
			return err
		}
		var cur training.Facts
		if err := decodeFacts(v, &cur); err != nil {
			return err
		}
		if at.After(f.ComputedAt) || bytes.Equal(curBody, body) {
			if v[0] == '{' { // format 1: rewritten as it is, so it is decoded once
				return units.Put(oldKey, encodeFacts(curBody, &cur))
			}
			return nil
		}
		if err := units.Delete(oldKey); err != nil {
			return err
		}
		if err := makeup.Delete(oldKey); err != nil {
			return err
		}
		if err := addDelta(deltas, string(key(y, cur.Unit)), training.Tally{}.Minus(cur.Tally())); err != nil {
			return err
		}
	}
	k := key(y, f.Unit, f.CadreID)
	if err := units.Put(k, encodeFacts(body, f)); err != nil {
		return err
	}
	if len(f.Makeup) > 0 {
		if err := makeup.Put(k, nil); err != nil {
			return err
		}
	}
	if v == nil || string(oldKey) != string(k) { // the facts bucket names the unit already otherwise
		if err := ptr.Put(key(y, f.CadreID), []byte(f.Unit)); err != nil {
			return err
		}
	}
	return addDelta(deltas, string(key(y, f.Unit)), f.Tally())
}

func addDelta(deltas map[string]training.Tally, k string, d training.Tally) error {
	t := deltas[k]
	if t == nil {
		t = training.Tally{}
		deltas[k] = t
	}
	return t.Add(d)
}

func addRollup(b *bbolt.Bucket, k []byte, d training.Tally) error {
	if len(d) == 0 {
		return nil
	}
	t := training.Tally{}
	if _, err := get(b, k, &t); err != nil {
		return err
	}
	if err := t.Add(d); err != nil {
		return err
	}
	if len(t) == 0 {
		return b.Delete(k)
	}
	return put(b, k, t)
}

// subtreeScan calls fn for each key of bucket b in the year's unit subtree, in key order,
// starting after `after` (a key) when set, until fn returns false.
func subtreeScan(b *bbolt.Bucket, year int, unitPrefix string, after []byte, fn func(k []byte, unit, rest string) (bool, error)) error {
	if b == nil {
		return nil
	}
	prefix := strings.TrimSuffix(unitPrefix, "/")
	start := key(yearKey(year), prefix)
	c := b.Cursor()
	k, _ := c.Seek(start)
	if after != nil && bytes.Compare(after, start) >= 0 {
		k, _ = c.Seek(after)
		if bytes.Equal(k, after) {
			k, _ = c.Next()
		}
	}
	for ; k != nil && bytes.HasPrefix(k, start); k, _ = c.Next() {
		_, tail, _ := strings.Cut(string(k), sep)
		unit, rest, _ := strings.Cut(tail, sep)
		if !training.InUnit(unit, prefix) {
			continue
		}
		more, err := fn(k, unit, rest)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// ListFacts lists the year's facts in the subtree (see training.RollupStore).
func (s *Store) ListFacts(ctx context.Context, year int, unitPrefix string, after *training.FactsCursor, limit int, makeupOnly bool) ([]training.Facts, bool, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	var afterKey []byte
	if after != nil {
		afterKey = key(yearKey(year), after.Unit, after.CadreID)
	}
	var out []training.Facts
	more := false
	err := s.view(func(tx *bbolt.Tx) error {
		units := tx.Bucket(bktFactsUnits)
		b := units
		if makeupOnly {
			b = tx.Bucket(bktFactsMakeup)
		}
		return subtreeScan(b, year, unitPrefix, afterKey, func(k []byte, _, _ string) (bool, error) {
			if len(out) == limit {
				more = true
				return false, nil
			}
			v := units.Get(k)
			if v == nil {
				return false, fmt.Errorf("补训 index names missing facts %q", k)
			}
			var f training.Facts
			err := decodeFacts(v, &f)
			out = append(out, f)
			return true, err
		})
	})
	if err != nil {
		return nil, false, fmt.Errorf("listing facts of %d in %q: %w", year, unitPrefix, err)
	}
	return out, more, nil
}

// ListRollups returns the year's rollups of the units in the subtree, ordered by unit.
func (s *Store) ListRollups(ctx context.Context, year int, unitPrefix string) ([]training.UnitRollup, error) {
	var out []training.UnitRollup
	err := s.view(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bktRollups)
		return subtreeScan(b, year, unitPrefix, nil, func(k []byte, unit, _ string) (bool, error) {
			t := training.Tally{}
			_, err := get(b, k, &t)
			out = append(out, training.UnitRollup{Unit: unit, Year: year, Tally: t})
			return true, err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("listing rollups of %d in %q: %w", year, unitPrefix, err)
	}
	return out, nil
}
