package localrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cadre-training/cadretrain/shared/dynamo"
	"github.com/cadre-training/cadretrain/shared/training"
)

// Bounds of the stream stand-in.
const (
	defaultBatchSize = 100
	// defaultMaxRetries stands in for Lambda's -1 ("retry until the record expires").
	defaultMaxRetries = 10
	maxBackoff        = 30 * time.Second
)

var errStopped = errors.New("stopped")

// poller is one event source mapping: it reads the change feed after its own cursor and invokes
// its function with the records its filters let through, one batch at a time.
type poller struct {
	s       *Server
	c       Consumer
	filters Filters
	path    string // cursor file
	cursor  string
}

func (s *Server) newPoller(c Consumer) (*poller, error) {
	if s.fns[c.Function] == nil {
		return nil, fmt.Errorf("localrun: stream consumer: no handler for function %q", c.Function)
	}
	fs, err := CompileFilters(c.Filters)
	if err != nil {
		return nil, fmt.Errorf("localrun: stream consumer %s: %w", c.Function, err)
	}
	if c.BatchSize <= 0 {
		c.BatchSize = defaultBatchSize
	}
	if c.MaxRetries < 0 {
		c.MaxRetries = defaultMaxRetries
	}
	p := &poller{s: s, c: c, filters: fs, path: cursorPath(s.opts.DataDir, s.opts.CursorScope, c.Function)}
	if p.cursor, err = loadCursor(p.path); err != nil {
		return nil, err
	}
	return p, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func cursorPath(dir, scope, fn string) string {
	return filepath.Join(dir, "stream-cursor-"+unsafeName.ReplaceAllString(scope, "_")+"-"+unsafeName.ReplaceAllString(fn, "_")+".json")
}

type cursorFile struct {
	Cursor    string    `json:"cursor"`
	UpdatedAt time.Time `json:"updated_at"`
}

func loadCursor(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil // TRIM_HORIZON: start with the oldest retained change
	}
	if err != nil {
		return "", fmt.Errorf("localrun: read stream cursor: %w", err)
	}
	var cf cursorFile
	if err := json.Unmarshal(b, &cf); err != nil {
		return "", fmt.Errorf("localrun: stream cursor %s is unreadable: %w", path, err)
	}
	return cf.Cursor, nil
}

// saveCursor replaces the cursor file atomically: write a temporary file, fsync, rename, fsync
// the directory.
func saveCursor(path, cursor string, now time.Time) error {
	b, _ := json.Marshal(cursorFile{Cursor: cursor, UpdatedAt: now.UTC()})
	return writeFileAtomic(path, b)
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

// run polls until the server stops. Between batches it sleeps Poll unless the last read was full.
func (p *poller) run() {
	log := p.s.log.With("function", p.c.Function)
	readFailures := 0
	for {
		select {
		case <-p.s.stop:
			return
		default:
		}
		full, err := p.once()
		switch {
		case errors.Is(err, errStopped):
			return
		case err != nil:
			readFailures++
			log.Error("stream poll failed", "err", err.Error())
			if !p.wait(backoff(p.s.opts.RetryBackoff, readFailures)) {
				return
			}
			continue
		}
		readFailures = 0
		if !full && !p.wait(p.s.opts.Poll) {
			return
		}
	}
}

// wait sleeps d unless the server stops first (then false).
func (p *poller) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.s.stop:
		return false
	case <-t.C:
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

// once reads one batch, delivers it and saves the cursor. full reports that the read returned a
// whole batch (more may be waiting).
func (p *poller) once() (full bool, err error) {
	ctx := context.Background()
	changes, next, err := p.s.opts.Store.ReadChanges(ctx, p.cursor, p.c.BatchSize)
	if err != nil {
		if training.ErrorCode(err) == training.EINVALID && p.cursor != "" {
			// The cursor no longer fits the stream (e.g. a recreated table): start again from
			// the oldest retained change, as a re-created mapping with TRIM_HORIZON does.
			p.s.log.Warn("stream cursor rejected; starting from the oldest retained change", "function", p.c.Function, "cursor", p.cursor, "err", err.Error())
			p.cursor = ""
			return true, nil
		}
		return false, fmt.Errorf("read changes: %w", err)
	}
	if len(changes) == 0 {
		if next != p.cursor && next != "" {
			p.cursor = next
			if err := saveCursor(p.path, next, p.s.now()); err != nil {
				return false, fmt.Errorf("save stream cursor: %w", err)
			}
		}
		return false, nil
	}
	recs, err := p.records(changes)
	if err != nil {
		return false, err
	}
	if len(recs) > 0 {
		if err := p.deliver(recs); err != nil {
			return false, err
		}
	}
	p.cursor = next
	if err := saveCursor(p.path, next, p.s.now()); err != nil {
		return false, fmt.Errorf("save stream cursor: %w", err)
	}
	return len(changes) >= p.c.BatchSize, nil
}

// records converts the changes to stream records and keeps those the filters let through.
func (p *poller) records(changes []training.Change) ([]events.DynamoDBEventRecord, error) {
	var out []events.DynamoDBEventRecord
	for _, c := range changes {
		rec, err := dynamo.EventRecordFromChange(c, p.s.opts.Table)
		if err != nil {
			return nil, fmt.Errorf("change %s: stream record: %w", c.Seq, err)
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return nil, fmt.Errorf("change %s: encode stream record: %w", c.Seq, err)
		}
		if p.filters.Match(b) {
			out = append(out, rec)
		}
	}
	return out, nil
}

// deliver invokes the function with recs until every record has succeeded or been
// dead-lettered. It returns errStopped when the server stops during a retry wait; the cursor is
// then not advanced and the batch is delivered again after a restart.
func (p *poller) deliver(recs []events.DynamoDBEventRecord) error {
	attempts := 0
	for len(recs) > 0 {
		failedAt, ferr := p.invokeBatch(recs)
		if failedAt < 0 {
			return nil
		}
		if ferr != nil && p.c.Bisect && len(recs) > 1 {
			// BisectBatchOnFunctionError: split and retry each half (a split is not a retry).
			mid := len(recs) / 2
			if err := p.deliver(recs[:mid]); err != nil {
				return err
			}
			return p.deliver(recs[mid:])
		}
		reason := "batchItemFailures"
		if ferr != nil {
			reason = ferr.Error()
		}
		if failedAt > 0 {
			// Records before the first failure are done; a retry starts at the failure.
			recs, attempts = recs[failedAt:], 0
		}
		attempts++
		if attempts > p.c.MaxRetries {
			bad := recs
			if ferr == nil && p.c.Bisect && len(recs) > 1 {
				// The function named its first failed record: bisecting would isolate it, so
				// only it is dead-lettered and the rest of the batch goes on.
				bad = recs[:1]
			}
			p.s.dlq.add(deadLetter{Function: p.c.Function, Kind: "stream", Reason: reason, Attempts: attempts, Records: bad})
			p.s.log.Error("stream records dead-lettered", "function", p.c.Function, "records", len(bad),
				"first_sequence_number", bad[0].Change.SequenceNumber, "reason", reason)
			recs, attempts = recs[len(bad):], 0
			continue
		}
		p.s.log.Warn("stream batch failed; retrying", "function", p.c.Function, "records", len(recs), "attempt", attempts, "reason", reason)
		if !p.wait(backoff(p.s.opts.RetryBackoff, attempts)) {
			return errStopped
		}
	}
	return nil
}

// invokeBatch invokes the function once. failedAt is -1 when the whole batch succeeded, else the
// index of the first record to retry from (0 for a function error or an unknown identifier).
func (p *poller) invokeBatch(recs []events.DynamoDBEventRecord) (failedAt int, err error) {
	payload, err := json.Marshal(events.DynamoDBEvent{Records: recs})
	if err != nil {
		return 0, fmt.Errorf("encode stream event: %w", err)
	}
	out, err := p.s.invoke(context.Background(), p.c.Function, payload)
	if err != nil {
		return 0, err
	}
	if !p.c.ReportBatchItemFailures {
		return -1, nil
	}
	var resp events.DynamoDBEventResponse
	if len(out) == 0 || string(out) == "null" {
		return -1, nil
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		// Lambda treats an unreadable response of a ReportBatchItemFailures function as a
		// failure of the whole batch.
		return 0, nil
	}
	if len(resp.BatchItemFailures) == 0 {
		return -1, nil
	}
	first := len(recs)
	for _, f := range resp.BatchItemFailures {
		found := false
		for i, r := range recs {
			if f.ItemIdentifier != "" && r.Change.SequenceNumber == f.ItemIdentifier {
				first, found = min(first, i), true
				break
			}
		}
		if !found {
			return 0, nil // an empty or unknown identifier fails the whole batch
		}
	}
	return first, nil
}

// deadLetter is one line of dead-letters.jsonl.
type deadLetter struct {
	Time     time.Time                    `json:"time"`
	Function string                       `json:"function"`
	Kind     string                       `json:"kind"` // "stream" or "async"
	Reason   string                       `json:"reason"`
	Attempts int                          `json:"attempts"`
	Records  []events.DynamoDBEventRecord `json:"records,omitempty"`
	Payload  json.RawMessage              `json:"payload,omitempty"`
}

// deadLetters appends to dead-letters.jsonl in the data dir, one JSON object a line, fsynced.
type deadLetters struct {
	mu   sync.Mutex
	path string
	log  func(error)
}

// DeadLetterFile is the name of the dead-letter file in the data dir.
const DeadLetterFile = "dead-letters.jsonl"

func openDeadLetters(dir string) (*deadLetters, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("localrun: data dir: %w", err)
	}
	return &deadLetters{path: filepath.Join(dir, DeadLetterFile)}, nil
}

func (d *deadLetters) add(l deadLetter) {
	if l.Time.IsZero() {
		l.Time = time.Now().UTC()
	}
	b, err := json.Marshal(l)
	if err == nil {
		err = d.append(append(b, '\n'))
	}
	if err != nil && d.log != nil {
		d.log(err)
	}
}

func (d *deadLetters) append(line []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := os.OpenFile(d.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open dead-letter file: %w", err)
	}
	_, err = f.Write(line)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write dead-letter file: %w", err)
	}
	return nil
}

func (d *deadLetters) close() error { return nil }
