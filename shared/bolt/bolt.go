// Package bolt implements training.Store in one embedded bbolt file, for running on one machine.
//
// # Layout
//
// Values are JSON (times round-trip to the nanosecond). Keys join parts with a NUL byte, which no
// id, unit or source contains.
//
//	cadres          cadre id                         → Cadre
//	cadre_units     unit NUL cadre id                → (empty)   ListCadres: ordered by unit, then id
//	records         record id                        → Record
//	record_keys     source NUL external id           → record id (the idempotency key)
//	cadre_records   cadre id NUL record id           → (empty)   ListRecords
//	snapshots       cadre id                         → Status
//	form_entries    cadre id NUL form NUL record id  → FormEntry
//	changes         8-byte big-endian sequence       → 8-byte big-endian unix nanos of At, then Change
//
// The unit index sorts "cn/cq" NUL … before "cn/cq/…" and "cn/cqx…", so a unit subtree is one
// contiguous run of keys starting with the prefix, filtered by whole segments (training.InUnit).
// A ListCadres cursor is the last returned index key, base64url-encoded.
//
// # Change feed
//
// Every created record and every effective void appends a change in the same transaction as the
// record change, keyed by the bucket's NextSequence, so the feed order is the commit order. A
// ReadChanges cursor is the last returned sequence number in decimal.
//
// Retention: like a DynamoDB stream (24 hours), changes older than the retention (default 24 h,
// WithRetention) are trimmed; the trimming is done by the writes that append changes (at most
// trimPerWrite changes per transaction), so an idle store keeps its old changes until the next
// write. A reader whose cursor points at trimmed changes continues with the oldest retained one.
//
// # Durability and group commit
//
// Every acknowledged write is on disk: bbolt fsyncs each commit (NoSync is never set). Writes are
// group-committed: one writer goroutine takes every write waiting in its queue (up to
// WithMaxBatchSize), runs them in one read-write transaction and commits it with one fsync, so
// concurrent writers share fsyncs. While a group commits, the next one gathers. With
// WithMaxBatchDelay > 0 the writer also waits up to that long for more writes before it commits
// (default 0: no wait; see docs/benchmarks.md for the measurements behind the defaults).
//
// Within a group, a write whose function returns an error rolls the whole transaction back; that
// write is then run again alone (its error, or nil, is what its caller gets) and the rest of the
// group is run again together — the same recovery as bbolt's DB.Batch. The write functions
// therefore may run more than once and set their results afresh on each run.
package bolt

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cadre-training/cadretrain/shared/training"
	bbolt "go.etcd.io/bbolt"
)

var _ training.Store = (*Store)(nil)

var (
	bktCadres       = []byte("cadres")
	bktCadreUnits   = []byte("cadre_units")
	bktRecords      = []byte("records")
	bktRecordKeys   = []byte("record_keys")
	bktCadreRecords = []byte("cadre_records")
	bktSnapshots    = []byte("snapshots")
	bktFormEntries  = []byte("form_entries")
	bktChanges      = []byte("changes")
)

const (
	sep          = "\x00"
	defaultLimit = 100
	trimPerWrite = 256
	// DefaultRetention is how long the change feed keeps a change (a DynamoDB stream keeps 24 h).
	DefaultRetention = 24 * time.Hour
	// DefaultMaxBatchSize bounds the writes committed in one transaction.
	DefaultMaxBatchSize = 1000
)

// Option configures Open.
type Option func(*options)

type options struct {
	maxBatchSize  int
	maxBatchDelay time.Duration
	noGroup       bool
	retention     time.Duration
	now           func() time.Time
	lockTimeout   time.Duration
	// dbBatch > 0 sends writes through bbolt's DB.Batch with this MaxBatchDelay instead of the
	// group-commit loop; only the benchmarks set it, to compare.
	dbBatch time.Duration
}

// WithMaxBatchSize bounds how many writes one group commit takes (default DefaultMaxBatchSize).
func WithMaxBatchSize(n int) Option { return func(o *options) { o.maxBatchSize = n } }

// WithMaxBatchDelay makes the writer wait up to d for more writes before committing a group that
// is not full (default 0: commit whatever is waiting at once).
func WithMaxBatchDelay(d time.Duration) Option { return func(o *options) { o.maxBatchDelay = d } }

// WithoutGroupCommit makes every write its own transaction with its own fsync. It exists to
// measure what group commit gains; do not use it otherwise.
func WithoutGroupCommit() Option { return func(o *options) { o.noGroup = true } }

// WithRetention sets how long the change feed keeps changes (default DefaultRetention; ≤ 0 keeps
// them for ever).
func WithRetention(d time.Duration) Option { return func(o *options) { o.retention = d } }

// WithClock sets the clock that stamps changes and drives retention (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithLockTimeout sets how long Open waits for another process's lock on the file (default 5 s).
func WithLockTimeout(d time.Duration) Option { return func(o *options) { o.lockTimeout = d } }

// Store is a training.Store in one bbolt file. It is safe for concurrent use.
type Store struct {
	db   *bbolt.DB
	opts options

	mu     sync.RWMutex // held for reading while enqueueing; Close takes it to close reqs
	closed bool
	reqs   chan *writeReq
	done   chan struct{} // closed when the writer has stopped

	commits atomic.Int64 // committed write transactions, for tests and benchmarks
}

type writeReq struct {
	fn  func(*bbolt.Tx) error
	err chan error
}

// Open opens (creating if needed) the store in the file at path.
func Open(path string, opts ...Option) (*Store, error) {
	o := options{
		maxBatchSize: DefaultMaxBatchSize,
		retention:    DefaultRetention,
		now:          time.Now,
		lockTimeout:  5 * time.Second,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.maxBatchSize <= 0 {
		o.maxBatchSize = 1
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: o.lockTimeout})
	if err != nil {
		return nil, fmt.Errorf("opening bolt store %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bktCadres, bktCadreUnits, bktRecords, bktRecordKeys, bktCadreRecords, bktSnapshots, bktFormEntries, bktChanges} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("creating bucket %s: %w", b, err)
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening bolt store %s: %w", path, err)
	}
	s := &Store{db: db, opts: o, done: make(chan struct{})}
	if o.dbBatch > 0 {
		db.MaxBatchDelay, db.MaxBatchSize = o.dbBatch, o.maxBatchSize
	}
	if o.noGroup || o.dbBatch > 0 {
		close(s.done)
	} else {
		s.reqs = make(chan *writeReq, o.maxBatchSize)
		go s.writer()
	}
	return s, nil
}

// Close waits for the pending writes, then closes the file.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.reqs != nil {
		close(s.reqs)
	}
	s.mu.Unlock()
	<-s.done
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("closing bolt store: %w", err)
	}
	return nil
}

var errClosed = errors.New("bolt store is closed")

// update runs fn in a read-write transaction, committed (and fsynced) with the other writes
// waiting at the same time. fn may run more than once (see the package doc).
func (s *Store) update(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return errClosed
	}
	if s.opts.noGroup || s.opts.dbBatch > 0 {
		defer s.mu.RUnlock()
		txn := s.db.Update
		if s.opts.dbBatch > 0 {
			txn = s.db.Batch
		}
		err := txn(func(tx *bbolt.Tx) error { return safeCall(fn, tx) })
		if err == nil && s.opts.dbBatch == 0 {
			s.commits.Add(1)
		}
		return err
	}
	req := &writeReq{fn: fn, err: make(chan error, 1)}
	s.reqs <- req
	s.mu.RUnlock()
	// The write is not abandoned when ctx ends: its result is only known once it has committed.
	return <-req.err
}

// writer is the group-commit loop: it takes a write, gathers every write waiting behind it
// (and, with a batch delay, those arriving within the delay) and commits them together.
func (s *Store) writer() {
	defer close(s.done)
	batch := make([]*writeReq, 0, s.opts.maxBatchSize)
	var timer *time.Timer
	for req := range s.reqs {
		batch = append(batch[:0], req)
	gather:
		for len(batch) < s.opts.maxBatchSize {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break gather
				}
				batch = append(batch, r)
				continue
			default:
			}
			if s.opts.maxBatchDelay <= 0 {
				break
			}
			if timer == nil {
				timer = time.NewTimer(s.opts.maxBatchDelay)
			} else {
				timer.Reset(s.opts.maxBatchDelay)
			}
			for len(batch) < s.opts.maxBatchSize {
				select {
				case r, ok := <-s.reqs:
					if !ok {
						timer.Stop()
						break gather
					}
					batch = append(batch, r)
				case <-timer.C:
					break gather
				}
			}
			timer.Stop()
		}
		s.commit(batch)
		clear(batch)
	}
}

// commit runs the batch in one transaction. A write that fails is taken out and run alone, and
// the others are run again together, so each caller gets its own result.
func (s *Store) commit(batch []*writeReq) {
	for len(batch) > 0 {
		failed := -1
		err := s.db.Update(func(tx *bbolt.Tx) error {
			for i, r := range batch {
				if err := safeCall(r.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			if err == nil {
				s.commits.Add(1)
			}
			for _, r := range batch {
				r.err <- err
			}
			return
		}
		r := batch[failed]
		batch = slices.Delete(batch, failed, failed+1)
		err = s.db.Update(func(tx *bbolt.Tx) error { return safeCall(r.fn, tx) })
		if err == nil {
			s.commits.Add(1)
		}
		r.err <- err
	}
}

func safeCall(fn func(*bbolt.Tx) error, tx *bbolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("bolt store: write panicked: %v", p)
		}
	}()
	return fn(tx)
}

// ---- encoding helpers ----

func key(parts ...string) []byte { return []byte(strings.Join(parts, sep)) }

func u64(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
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
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		found, err = get(tx.Bucket(bktCadres), []byte(id), &c)
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
		found, err := get(cadres, []byte(c.ID), &cur)
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
		return put(cadres, []byte(c.ID), c)
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
	err := s.db.View(func(tx *bbolt.Tx) error {
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
			found, err := get(cadres, []byte(id), &c)
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

// ---- records ----

// CreateRecord stores r unless its key (Source, ExternalID) exists; see training.RecordStore.
func (s *Store) CreateRecord(ctx context.Context, r training.Record) (training.Record, training.CreateOutcome, error) {
	if err := validID("cadre_id", r.CadreID); err != nil {
		return training.Record{}, "", err
	}
	if r.ID == "" || r.ID != training.RecordID(r.Source, r.ExternalID) || r.ContentHash == "" {
		return training.Record{}, "", training.Errorf(training.EINVALID, "record is not sealed")
	}
	if strings.Contains(r.Source, sep) {
		return training.Record{}, "", training.Errorf(training.EINVALID, "source must not contain NUL")
	}
	if r.Status == "" {
		r.Status = training.StatusActive
	}
	var out training.Record
	var outcome training.CreateOutcome
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		records, keys := tx.Bucket(bktRecords), tx.Bucket(bktRecordKeys)
		idemKey := key(r.Source, r.ExternalID)
		if id := keys.Get(idemKey); id != nil {
			var stored training.Record
			found, err := get(records, id, &stored)
			if err != nil {
				return err
			}
			if !found {
				return fmt.Errorf("idempotency key %q names missing record %s", idemKey, id)
			}
			out, outcome = stored, training.Conflict
			if stored.ContentHash == r.ContentHash {
				outcome = training.Duplicate
			}
			return nil
		}
		if records.Get([]byte(r.ID)) != nil {
			return fmt.Errorf("record %s exists without its idempotency key", r.ID)
		}
		if err := put(records, []byte(r.ID), r); err != nil {
			return err
		}
		if err := keys.Put(idemKey, []byte(r.ID)); err != nil {
			return fmt.Errorf("writing idempotency key: %w", err)
		}
		if err := tx.Bucket(bktCadreRecords).Put(key(r.CadreID, r.ID), nil); err != nil {
			return fmt.Errorf("writing cadre index: %w", err)
		}
		nr := r
		if err := s.appendChange(tx, training.Change{Kind: training.ChangeInsert, CadreID: r.CadreID, RecordID: r.ID, New: &nr}); err != nil {
			return err
		}
		out, outcome = r, training.Created
		return nil
	})
	if err != nil {
		return training.Record{}, "", fmt.Errorf("creating record %s: %w", r.ID, err)
	}
	return out, outcome, nil
}

// GetRecord returns the record, or ENOTFOUND.
func (s *Store) GetRecord(ctx context.Context, id string) (training.Record, error) {
	var r training.Record
	var found bool
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		found, err = get(tx.Bucket(bktRecords), []byte(id), &r)
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

// ListRecords returns every record of the cadre, newest attribution date first, then by id.
func (s *Store) ListRecords(ctx context.Context, cadreID string) ([]training.Record, error) {
	var out []training.Record
	err := s.db.View(func(tx *bbolt.Tx) error {
		records := tx.Bucket(bktRecords)
		prefix := key(cadreID, "")
		cur := tx.Bucket(bktCadreRecords).Cursor()
		for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
			var r training.Record
			found, err := get(records, k[len(prefix):], &r)
			if err != nil {
				return err
			}
			if !found {
				return fmt.Errorf("cadre index names missing record %s", k[len(prefix):])
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing records of cadre %s: %w", cadreID, err)
	}
	slices.SortFunc(out, func(a, b training.Record) int {
		if c := b.AttributionDate().Compare(a.AttributionDate()); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// VoidRecord marks the record voided with v, unless it already is; ENOTFOUND.
func (s *Store) VoidRecord(ctx context.Context, id string, v training.Voiding) (training.Record, bool, error) {
	var out training.Record
	var changed bool
	var notFound bool
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		changed, notFound = false, false
		records := tx.Bucket(bktRecords)
		var old training.Record
		found, err := get(records, []byte(id), &old)
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
		if err := put(records, []byte(id), nr); err != nil {
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

// PutSnapshot stores s unless the stored snapshot was computed later.
func (s *Store) PutSnapshot(ctx context.Context, st training.Status) error {
	if err := validID("cadre_id", st.CadreID); err != nil {
		return err
	}
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bktSnapshots)
		var cur training.Status
		found, err := get(b, []byte(st.CadreID), &cur)
		if err != nil {
			return err
		}
		if found && cur.ComputedAt.After(st.ComputedAt) {
			return nil
		}
		return put(b, []byte(st.CadreID), st)
	})
	if err != nil {
		return fmt.Errorf("putting snapshot of cadre %s: %w", st.CadreID, err)
	}
	return nil
}

// GetSnapshot returns the cadre's snapshot, or ENOTFOUND.
func (s *Store) GetSnapshot(ctx context.Context, cadreID string) (training.Status, error) {
	var st training.Status
	var found bool
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		found, err = get(tx.Bucket(bktSnapshots), []byte(cadreID), &st)
		return err
	})
	if err != nil {
		return training.Status{}, fmt.Errorf("getting snapshot of cadre %s: %w", cadreID, err)
	}
	if !found {
		return training.Status{}, training.Errorf(training.ENOTFOUND, "no snapshot of cadre %s", cadreID)
	}
	return st, nil
}

// ---- form entries ----

// PutFormEntry creates or refreshes the active entry; a withdrawn entry stays as it is.
func (s *Store) PutFormEntry(ctx context.Context, e training.FormEntry) error {
	for _, f := range []struct{ name, v string }{{"cadre_id", e.CadreID}, {"form", string(e.Form)}, {"record_id", e.RecordID}} {
		if err := validID(f.name, f.v); err != nil {
			return err
		}
	}
	e.Status, e.Withdrawal = training.EntryActive, nil
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bktFormEntries)
		k := key(e.CadreID, string(e.Form), e.RecordID)
		var cur training.FormEntry
		found, err := get(b, k, &cur)
		if err != nil {
			return err
		}
		if found && cur.Status == training.EntryWithdrawn {
			return nil
		}
		return put(b, k, e)
	})
	if err != nil {
		return fmt.Errorf("putting %s entry of record %s: %w", e.Form, e.RecordID, err)
	}
	return nil
}

// ListFormEntries returns the cadre's entries in the form, newest start date first, then by record id.
func (s *Store) ListFormEntries(ctx context.Context, cadreID string, form training.FormKind) ([]training.FormEntry, error) {
	var out []training.FormEntry
	err := s.db.View(func(tx *bbolt.Tx) error {
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

// ---- change feed ----

// appendChange appends c to the feed in tx and trims changes past the retention.
func (s *Store) appendChange(tx *bbolt.Tx, c training.Change) error {
	b := tx.Bucket(bktChanges)
	seq, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("numbering change: %w", err)
	}
	now := s.opts.now()
	c.Seq, c.At = strconv.FormatUint(seq, 10), now
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encoding change: %w", err)
	}
	v := make([]byte, 8, 8+len(data))
	binary.BigEndian.PutUint64(v, uint64(now.UnixNano()))
	if err := b.Put(u64(seq), append(v, data...)); err != nil {
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

// ReadChanges returns up to limit changes after cursor, oldest first.
func (s *Store) ReadChanges(ctx context.Context, cursor string, limit int) ([]training.Change, string, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	var after uint64
	if cursor != "" {
		n, err := strconv.ParseUint(cursor, 10, 64)
		if err != nil {
			return nil, "", training.Errorf(training.EINVALID, "unreadable cursor")
		}
		after = n
	}
	if after == math.MaxUint64 {
		return nil, cursor, nil
	}
	var out []training.Change
	err := s.db.View(func(tx *bbolt.Tx) error {
		cur := tx.Bucket(bktChanges).Cursor()
		for k, v := cur.Seek(u64(after + 1)); k != nil && len(out) < limit; k, v = cur.Next() {
			if len(v) < 8 {
				return fmt.Errorf("change %x is truncated", k)
			}
			var c training.Change
			if err := json.Unmarshal(v[8:], &c); err != nil {
				return fmt.Errorf("decoding change %x: %w", k, err)
			}
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("reading changes after %q: %w", cursor, err)
	}
	if len(out) == 0 {
		return nil, cursor, nil
	}
	return out, out[len(out)-1].Seq, nil
}
