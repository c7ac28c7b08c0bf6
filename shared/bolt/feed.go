package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/cadre-training/cadretrain/shared/training"
	bbolt "go.etcd.io/bbolt"
)

var _ training.CursorStore = (*Store)(nil)

// appendChange appends c to the feed in tx and trims changes past the retention.
func (s *Store) appendChange(tx *bbolt.Tx, c training.Change) error {
	var old, nw []byte
	if c.Old != nil {
		old = encodeRecord(c.Old)
	}
	if c.New != nil {
		nw = encodeRecord(c.New)
	}
	return s.appendEncodedChange(tx, encodeChangeOf(&c, old, nw))
}

// appendEncodedChange is appendChange of a change encoded by encodeChangeOf (outside the
// transaction: the group-commit writer runs transactions one at a time, so what can be done
// before is done before); it sets the change's At.
func (s *Store) appendEncodedChange(tx *bbolt.Tx, v []byte) error {
	b := tx.Bucket(bktChanges)
	b.FillPercent = 0.95 // keys only ever grow: fill the pages
	seq, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("numbering change: %w", err)
	}
	now := s.opts.now()
	binary.BigEndian.PutUint64(v, uint64(now.UnixNano()))
	if err := b.Put(u64(seq), v); err != nil {
		return fmt.Errorf("writing change: %w", err)
	}
	if s.opts.retention <= 0 {
		return nil
	}
	cutoff := uint64(now.Add(-s.opts.retention).UnixNano())
	cur := b.Cursor()
	for i := 0; i < trimPerWrite; i++ {
		k, v := cur.First()
		if k == nil || len(v) < 8 || binary.BigEndian.Uint64(v) >= cutoff || bytes.Equal(k, u64(seq)) {
			return nil
		}
		if err := cur.Delete(); err != nil {
			return fmt.Errorf("trimming change feed: %w", err)
		}
	}
	return nil
}

// feedPos is a parsed cursor: the sequence number and the checksum of its entry.
type feedPos struct {
	seq uint64
	sum uint32
}

func entrySum(v []byte) uint32 {
	h := fnv.New32a()
	h.Write(v)
	return h.Sum32()
}

func (s *Store) token(seq uint64, v []byte) string {
	return s.id + "." + strconv.FormatUint(seq, 10) + "." + fmt.Sprintf("%08x", entrySum(v))
}

// parseCursor reads a cursor of this store; "" is the start of the feed.
func (s *Store) parseCursor(cursor string) (feedPos, error) {
	if cursor == "" {
		return feedPos{}, nil
	}
	parts := strings.Split(cursor, ".")
	if len(parts) != 3 {
		return feedPos{}, training.Errorf(training.EINVALID, "unreadable cursor")
	}
	if parts[0] != s.id {
		return feedPos{}, training.Errorf(training.EINVALID, "the cursor belongs to another store (id %q, this store is %q): the file was recreated or replaced", parts[0], s.id)
	}
	seq, err1 := strconv.ParseUint(parts[1], 10, 64)
	sum, err2 := strconv.ParseUint(parts[2], 16, 32)
	if err1 != nil || err2 != nil || seq == 0 || len(parts[2]) != 8 {
		return feedPos{}, training.Errorf(training.EINVALID, "unreadable cursor")
	}
	return feedPos{seq: seq, sum: uint32(sum)}, nil
}

// checkPos verifies in tx that the position is in this incarnation of the feed: not past its
// end, and, while its entry is retained, on the same entry.
func checkPos(tx *bbolt.Tx, p feedPos) error {
	if p.seq == 0 {
		return nil
	}
	b := tx.Bucket(bktChanges)
	if p.seq > b.Sequence() {
		return training.Errorf(training.EINVALID, "the cursor (change %d) is past the end of the feed (change %d): the store was restored from an older copy", p.seq, b.Sequence())
	}
	if v := b.Get(u64(p.seq)); v != nil && entrySum(v) != p.sum {
		return training.Errorf(training.EINVALID, "change %d is not the one the cursor was taken at: the store was restored from an older copy and written since", p.seq)
	}
	return nil
}

// ReadChanges returns up to limit changes after cursor, oldest first. See the package doc for
// the cursor and for undecodable entries.
func (s *Store) ReadChanges(ctx context.Context, cursor string, limit int) ([]training.Change, string, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	pos, err := s.parseCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	var out []training.Change
	err = s.view(func(tx *bbolt.Tx) error {
		if err := checkPos(tx, pos); err != nil {
			return err
		}
		cur := tx.Bucket(bktChanges).Cursor()
		for k, v := cur.Seek(u64(pos.seq + 1)); k != nil && len(out) < limit; k, v = cur.Next() {
			var c training.Change
			seq := uint64(0)
			if len(k) == 8 {
				seq = binary.BigEndian.Uint64(k)
			}
			if err := decodeChange(v, &c); err != nil {
				c = training.Change{Undecodable: fmt.Sprintf("change %d: %v", seq, err)}
			}
			c.Seq = s.token(seq, v)
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		if training.ErrorCode(err) == training.EINVALID {
			return nil, "", err
		}
		return nil, "", fmt.Errorf("reading changes after %q: %w", cursor, err)
	}
	if len(out) == 0 {
		return nil, cursor, nil
	}
	return out, out[len(out)-1].Seq, nil
}

// LoadCursor returns the consumer's saved cursor, "" when it has none.
func (s *Store) LoadCursor(ctx context.Context, consumer string) (string, error) {
	var cursor string
	err := s.view(func(tx *bbolt.Tx) error {
		cursor = string(tx.Bucket(bktCursors).Get([]byte(consumer)))
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("loading cursor of %s: %w", consumer, err)
	}
	return cursor, nil
}

// SaveCursor saves the consumer's cursor (EINVALID if it is not a cursor of this feed; "" forgets
// the consumer) and trims the changes every consumer has passed beyond the replay tail.
func (s *Store) SaveCursor(ctx context.Context, consumer, cursor string) error {
	if consumer == "" {
		return training.Errorf(training.EINVALID, "consumer must not be empty")
	}
	pos, err := s.parseCursor(cursor)
	if err != nil {
		return err
	}
	var bad error
	err = s.update(ctx, func(tx *bbolt.Tx) error {
		if bad = checkPos(tx, pos); bad != nil {
			return nil
		}
		b := tx.Bucket(bktCursors)
		if cursor == "" {
			if err := b.Delete([]byte(consumer)); err != nil {
				return err
			}
		} else if err := b.Put([]byte(consumer), []byte(cursor)); err != nil {
			return err
		}
		return s.trimPassed(tx)
	})
	if err != nil {
		return fmt.Errorf("saving cursor of %s: %w", consumer, err)
	}
	return bad
}

// trimPassed deletes (up to trimPerSave of) the changes that every saved cursor has passed,
// except the last replayTail of them.
func (s *Store) trimPassed(tx *bbolt.Tx) error {
	var low uint64
	first := true
	err := tx.Bucket(bktCursors).ForEach(func(k, v []byte) error {
		p, err := s.parseCursor(string(v))
		if err != nil {
			p = feedPos{} // a cursor of another incarnation holds everything back
		}
		if first || p.seq < low {
			low, first = p.seq, false
		}
		return nil
	})
	if err != nil || first || low <= s.opts.replayTail {
		return err
	}
	limit := low - s.opts.replayTail // delete keys ≤ limit
	cur := tx.Bucket(bktChanges).Cursor()
	for i := 0; i < trimPerSave; i++ {
		k, _ := cur.First()
		if k == nil || binary.BigEndian.Uint64(k) > limit {
			return nil
		}
		if err := cur.Delete(); err != nil {
			return fmt.Errorf("trimming change feed: %w", err)
		}
	}
	return nil
}
