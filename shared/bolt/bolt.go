// Package bolt implements training.Store in one embedded bbolt file, for running on one machine.
//
// # Layout (format 2)
//
// Keys join parts with a NUL byte, which no id, unit or source contains. Cadres, records,
// snapshots, report facts and changes are in a compact versioned binary encoding (codec.go); form
// entries are JSON (few: full-time training only). Values of format 1 (JSON) are read too.
//
//	meta            "id" → the store id (random, made with the file); "format" → 2
//	cadres          cadre id                            → Cadre
//	cadre_units     unit NUL cadre id                   → (empty)   ListCadres: ordered by unit, then id
//	recs            cadre id NUL date⁻ record id        → Record    one cadre's archive is one key range,
//	                                                                 newest attribution date first, then id
//	rec_ids         record id                           → its recs key without the record id
//	snapshots       cadre id                            → Status (statusV2: body, then ComputedAt)
//	form_entries    cadre id NUL form NUL record id     → FormEntry (JSON)
//	changes         8-byte big-endian sequence          → 8-byte big-endian unix nanos of At, then Change
//	cursors         consumer name                       → its change-feed cursor (CursorStore)
//	docs            kind NUL id                         → Doc (JSON: classes, call-ups, subscriptions,
//	                                                       deliveries, the notice outbox)
//
// date⁻ is 4 bytes big-endian of 99999999 − yyyymmdd of the attribution date, so an ascending
// scan of a cadre's range reads its records newest first, and the records of a date range (what an
// evaluation needs) are one contiguous sub-range. The record id is derived from the idempotency
// key (training.RecordID), so rec_ids is also the idempotency index.
//
// Format 1 (JSON values, records keyed by id with cadre_records and record_keys indexes) is
// migrated by Open, in batches, each a transaction; an interrupted migration resumes at the next Open.
//
// The unit index sorts "cn/cq" NUL … before "cn/cq/…" and "cn/cqx…", so a unit subtree is one
// contiguous run of keys starting with the prefix, filtered by whole segments (training.InUnit).
// A ListCadres cursor is the last returned index key, base64url-encoded.
//
// # Change feed
//
// Every created record and every effective void appends a change in the same transaction as the
// record change, keyed by the bucket's NextSequence, so the feed order is the commit order. A
// cursor (and a Change.Seq) is "<store id>.<sequence>.<checksum of the entry>": ReadChanges
// rejects with EINVALID a cursor of another store (a recreated file), one past the end of the
// feed (a file restored from an older copy) and one whose entry differs (an older copy written
// to since), so that a consumer never skips the changes of another incarnation; the consumer then
// starts again from the oldest retained change. Consumers keep their cursors in the store
// (LoadCursor, SaveCursor), so a restored copy brings back the cursors that match its feed.
//
// Trimming: once every saved cursor has passed an entry, it is kept only as part of the replay
// tail (the last WithReplayTail entries, default DefaultReplayTail); SaveCursor trims the rest.
// Independently, changes older than the retention (default 24 h, WithRetention, like a DynamoDB
// stream) are trimmed by the writes that append changes, so a feed nobody reads stays bounded
// too. A reader whose cursor points at trimmed changes continues with the oldest retained one.
// An entry that cannot be decoded is returned as a Change with only Seq and Undecodable set.
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
//
// # Damage
//
// Open refuses a file that exists but is empty or shorter than its meta page says (instead of
// starting an empty store or faulting on the memory map), naming the file and the problem. A
// panic inside bbolt (a garbage page) in a read or in the writer goroutine is recovered and
// returned as an error. Check runs bbolt's consistency check and decodes every value.
package bolt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cadre-training/cadretrain/shared/training"
	bbolt "go.etcd.io/bbolt"
)

var _ training.Store = (*Store)(nil)

var (
	bktMeta        = []byte("meta")
	bktCadres      = []byte("cadres")
	bktCadreUnits  = []byte("cadre_units")
	bktRecs        = []byte("recs")
	bktRecIDs      = []byte("rec_ids")
	bktSnapshots   = []byte("snapshots")
	bktFormEntries = []byte("form_entries")
	bktChanges     = []byte("changes")
	bktCursors     = []byte("cursors")
	bktOldJobs     = []byte("jobs") // recompute jobs before they were documents: dropped at open
	bktDocs        = []byte("docs")

	allBuckets = [][]byte{bktMeta, bktCadres, bktCadreUnits, bktRecs, bktRecIDs, bktSnapshots, bktFormEntries, bktChanges, bktCursors, bktDocs}

	// format 1 buckets, migrated and dropped by Open
	bktV1Records      = []byte("records")
	bktV1RecordKeys   = []byte("record_keys")
	bktV1CadreRecords = []byte("cadre_records")

	metaID     = []byte("id")
	metaFormat = []byte("format")
)

const (
	sep          = "\x00"
	defaultLimit = 100
	trimPerWrite = 256
	// trimPerSave bounds the changes one SaveCursor trims.
	trimPerSave = 10000
	// formatVersion is the layout Open writes and migrates to.
	formatVersion = 2
	// DefaultRetention is how long the change feed keeps a change (a DynamoDB stream keeps 24 h).
	DefaultRetention = 24 * time.Hour
	// DefaultReplayTail is how many changes every consumer has passed are kept for replay.
	DefaultReplayTail = 10000
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
	replayTail    uint64
	now           func() time.Time
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

// WithReplayTail sets how many changes that every consumer has passed are kept for replay
// (default DefaultReplayTail).
func WithReplayTail(n int) Option { return func(o *options) { o.replayTail = uint64(max(n, 0)) } }

// WithClock sets the clock that stamps changes and drives retention (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Store is a training.Store in one bbolt file. It is safe for concurrent use.
type Store struct {
	db   *bbolt.DB
	opts options
	id   string // the store id, from the meta bucket

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

// Open opens (creating if needed) the store in the file at path. A file that exists but is
// empty or truncated is refused; a format 1 file is migrated.
func Open(path string, opts ...Option) (*Store, error) {
	o := options{
		maxBatchSize: DefaultMaxBatchSize,
		retention:    DefaultRetention,
		replayTail:   DefaultReplayTail,
		now:          time.Now,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.maxBatchSize <= 0 {
		o.maxBatchSize = 1
	}
	if err := checkFile(path); err != nil {
		return nil, err
	}
	db, err := openDB(path, &bbolt.Options{Timeout: 5 * time.Second}) // another process's lock on the file
	if err != nil {
		return nil, fmt.Errorf("opening bolt store %s: %w", path, err)
	}
	s := &Store{db: db, opts: o, done: make(chan struct{})}
	if err := s.init(); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening bolt store %s: %w", path, err)
	}
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

// init creates the buckets and the store id, and migrates a format 1 file.
func (s *Store) init() error {
	var v1 bool
	err := safeUpdate(s.db, func(tx *bbolt.Tx) error {
		v1 = tx.Bucket(bktV1Records) != nil
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("creating bucket %s: %w", b, err)
			}
		}
		if tx.Bucket(bktOldJobs) != nil {
			if err := tx.DeleteBucket(bktOldJobs); err != nil {
				return fmt.Errorf("dropping the old jobs bucket: %w", err)
			}
		}
		meta := tx.Bucket(bktMeta)
		if id := meta.Get(metaID); id != nil {
			s.id = string(id)
		} else {
			var raw [8]byte
			if _, err := rand.Read(raw[:]); err != nil {
				return fmt.Errorf("making the store id: %w", err)
			}
			s.id = hex.EncodeToString(raw[:])
			if err := meta.Put(metaID, []byte(s.id)); err != nil {
				return err
			}
		}
		if f := meta.Get(metaFormat); len(f) == 1 && f[0] > formatVersion {
			return fmt.Errorf("the file has format %d; this program reads formats up to %d", f[0], formatVersion)
		}
		if v1 {
			return nil // set once the migration is done
		}
		return meta.Put(metaFormat, []byte{formatVersion})
	})
	if err != nil {
		return err
	}
	if v1 {
		return s.migrateV1()
	}
	return nil
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
		var err error
		if s.opts.dbBatch > 0 {
			err = s.db.Batch(func(tx *bbolt.Tx) error { return safeCall(fn, tx) })
		} else {
			err = safeUpdate(s.db, func(tx *bbolt.Tx) error { return safeCall(fn, tx) })
		}
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
		err := safeUpdate(s.db, func(tx *bbolt.Tx) error {
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
		err = safeUpdate(s.db, func(tx *bbolt.Tx) error { return safeCall(r.fn, tx) })
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

// safeUpdate is db.Update with a panic inside bbolt (a garbage page met while committing)
// returned as an error; bbolt rolls the transaction back on the way out.
func safeUpdate(db *bbolt.DB, fn func(*bbolt.Tx) error) (err error) {
	// A garbage page can send bbolt outside the mapped file: fault as a panic, not a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("bolt store: write transaction panicked (is the file damaged? run cadred -check): %v", p)
		}
	}()
	return db.Update(fn)
}

// view is db.View with a panic inside bbolt (a garbage page) returned as an error.
func (s *Store) view(fn func(*bbolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("bolt store: read panicked (is the file damaged? run cadred -check): %v", p)
		}
	}()
	return s.db.View(fn)
}
