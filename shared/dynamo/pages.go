package dynamo

import (
	"context"
	"encoding/base64"
	"strconv"

	"github.com/cadre-training/cadretrain/shared/training"
)

// ListRecordsPage pages through ListRecords (the archive of one cadre is one partition query);
// the cursor is the offset of the next page, base64url.
func (s *Store) ListRecordsPage(ctx context.Context, cadreID, cursor string, limit int) ([]training.Record, string, error) {
	if limit <= 0 {
		limit = 100
	}
	off := 0
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n <= 0 {
			return nil, "", training.Errorf(training.EINVALID, "unreadable cursor")
		}
		off = n
	}
	recs, err := s.ListRecords(ctx, cadreID)
	if err != nil {
		return nil, "", err
	}
	if off >= len(recs) {
		return []training.Record{}, "", nil
	}
	end := min(off+limit, len(recs))
	next := ""
	if end < len(recs) {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return recs[off:end], next, nil
}

// CadreWithRecords reads the cadre and its records with the one Query of LoadCadre, keeping the
// records attributed in span(cadre).
func (s *Store) CadreWithRecords(ctx context.Context, cadreID string, span func(training.Cadre) (from, to training.Date)) (training.Cadre, []training.Record, error) {
	c, recs, _, err := s.LoadCadre(ctx, cadreID)
	if err != nil {
		return training.Cadre{}, nil, err
	}
	var from, to training.Date
	if span != nil {
		from, to = span(c)
	}
	out := recs[:0]
	for _, r := range recs {
		d := r.AttributionDate()
		if (from.IsZero() || !d.Before(from)) && (to.IsZero() || !d.After(to)) {
			out = append(out, r)
		}
	}
	return c, out, nil
}

// PutSnapshots puts each status as PutSnapshot does (one conditional PutItem each) and counts
// those written.
func (s *Store) PutSnapshots(ctx context.Context, ss []training.Status) (int, error) {
	n := 0
	for _, st := range ss {
		wrote, err := s.putSnapshot(ctx, st)
		if err != nil {
			return n, err
		}
		if wrote {
			n++
		}
	}
	return n, nil
}
