package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/obs"
	"github.com/cadre-training/cadretrain/shared/training"
)

// tailer reads the store's change feed after its cursor and hands each batch to
// app.Service.HandleChanges (form entries and recompute). A change that keeps failing is retried
// MaxRetries times with exponential backoff and then dead-lettered alone; an undecodable (poison)
// change is dead-lettered at once. The cursor is saved after each handled batch, so a crash
// replays at most one batch, and handling is idempotent.
type tailer struct {
	s       *Server
	cursors cursorKeeper
	cursor  string
}

// cursorKeeper loads and saves the tailer's cursor: inside the store when it keeps cursors
// (training.CursorStore: a restored older copy of the file then brings back the cursor that
// matches its feed), else in a file in the data dir.
type cursorKeeper interface {
	load(ctx context.Context) (string, error)
	save(ctx context.Context, cursor string) error
}

type storeCursor struct {
	cs   training.CursorStore
	name string
}

func (c storeCursor) load(ctx context.Context) (string, error) { return c.cs.LoadCursor(ctx, c.name) }
func (c storeCursor) save(ctx context.Context, cur string) error {
	return c.cs.SaveCursor(ctx, c.name, cur)
}

type fileCursor struct{ path string }

type cursorFile struct {
	Cursor    string    `json:"cursor"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (c fileCursor) load(context.Context) (string, error) {
	b, err := os.ReadFile(c.path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil // start with the oldest retained change
	}
	if err != nil {
		return "", fmt.Errorf("read feed cursor: %w", err)
	}
	var cf cursorFile
	if err := json.Unmarshal(b, &cf); err != nil {
		return "", fmt.Errorf("feed cursor %s is unreadable: %w", c.path, err)
	}
	return cf.Cursor, nil
}

func (c fileCursor) save(_ context.Context, cur string) error {
	b, _ := json.Marshal(cursorFile{Cursor: cur, UpdatedAt: time.Now().UTC()})
	return writeFileAtomic(c.path, b)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func (s *Server) newTailer() (*tailer, error) {
	var ck cursorKeeper
	if cs, ok := s.opts.Store.(training.CursorStore); ok {
		ck = storeCursor{cs: cs, name: s.opts.CursorName}
	} else {
		ck = fileCursor{path: filepath.Join(s.opts.DataDir, "feed-cursor-"+unsafeName.ReplaceAllString(s.opts.CursorName, "_")+".json")}
	}
	cur, err := ck.load(context.Background())
	if err != nil {
		return nil, err
	}
	return &tailer{s: s, cursors: ck, cursor: cur}, nil
}

// run tails the feed until the server stops.
func (t *tailer) run() {
	log := t.s.log.With("task", "change feed")
	failures := 0
	for !t.stopped() {
		full, err := t.once()
		if err != nil {
			failures++
			log.Error("change feed read failed", "err", err.Error())
			if !t.wait(backoff(t.s.opts.RetryBackoff, failures)) {
				return
			}
			continue
		}
		failures = 0
		if !full && !t.wait(t.s.opts.Poll) {
			return
		}
	}
}

func (t *tailer) stopped() bool {
	select {
	case <-t.s.stop:
		return true
	default:
		return false
	}
}

// wait sleeps d unless the server stops first (then false).
func (t *tailer) wait(d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-t.s.stop:
		return false
	case <-tm.C:
		return true
	}
}

func backoff(base time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// once reads and handles one batch and saves the cursor; full reports a whole batch was read
// (more may be waiting).
func (t *tailer) once() (bool, error) {
	ctx := context.Background()
	changes, next, err := t.s.opts.Store.ReadChanges(ctx, t.cursor, t.s.opts.BatchSize)
	if err != nil {
		if training.ErrorCode(err) == training.EINVALID && t.cursor != "" {
			// The cursor does not belong to this store's feed (a recreated or replaced store file,
			// another table): start again from the oldest retained change. Handling is
			// idempotent, so replaying is safe.
			t.s.log.Warn("feed cursor rejected by the store; starting from the oldest retained change", "cursor", t.cursor, "err", err.Error())
			t.cursor = ""
			return true, nil
		}
		return false, fmt.Errorf("read changes: %w", err)
	}
	if len(changes) > 0 && !t.handle(changes) {
		return false, nil // stopping mid-batch: the batch is replayed after a restart
	}
	if next != "" && next != t.cursor {
		if err := t.cursors.save(ctx, next); err != nil {
			return false, fmt.Errorf("save feed cursor: %w", err)
		}
		t.cursor = next
	}
	return len(changes) >= t.s.opts.BatchSize, nil
}

// handle runs the batch through HandleChanges, retrying from the first failed change; it reports
// false when the server stopped before the batch was done.
func (t *tailer) handle(batch []training.Change) bool {
	start, lastFailed, attempts := 0, -1, 0
	for start < len(batch) {
		err := t.s.svc.HandleChanges(context.Background(), batch[start:], app.WorkAll)
		if err == nil {
			return true
		}
		idx := start
		var cf *app.ChangeFailure
		if errors.As(err, &cf) {
			idx = start + cf.Index
		}
		if idx != lastFailed {
			lastFailed, attempts = idx, 0
		}
		attempts++
		ch := batch[idx]
		if ch.Undecodable != "" || attempts > t.s.opts.MaxRetries {
			t.s.deadLetter(deadLetter{Kind: letterChange, Reason: err.Error(), Attempts: attempts, Change: &ch})
			start, lastFailed, attempts = idx+1, -1, 0
			continue
		}
		t.s.log.Warn("change failed; retrying", "seq", ch.Seq, "cadre_id", ch.CadreID, "record_id", ch.RecordID, "attempt", attempts, "err", err.Error())
		if !t.wait(backoff(t.s.opts.RetryBackoff, attempts)) {
			return false
		}
		start = idx
	}
	return true
}

func (s *Server) deadLetter(l deadLetter) {
	s.metrics.Put(obs.CountOf(obs.DeadLetters, 1))
	s.log.Error("dead-lettered", "kind", l.Kind, "reason", l.Reason, "attempts", l.Attempts)
	if err := s.dlq.add(l); err != nil {
		s.log.Error("dead-letter file", "err", err.Error())
	}
}

func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
