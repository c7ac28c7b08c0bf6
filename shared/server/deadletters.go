package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/training"
)

// DeadLetterFile is the name of the dead-letter file in the data dir: one JSON object a line,
// fsynced before the feed moves past the change.
const DeadLetterFile = "dead-letters.jsonl"

// Kinds of dead letter.
const (
	letterChange = "change" // a feed change that kept failing, or could not be decoded
	letterJob    = "job"    // a background recompute job that failed twice
)

type deadLetter struct {
	ID       string            `json:"id"`
	Time     time.Time         `json:"time"`
	Kind     string            `json:"kind"`
	Reason   string            `json:"reason"`
	Attempts int               `json:"attempts"`
	Change   *training.Change  `json:"change,omitempty"`
	Job      *app.RecomputeJob `json:"job,omitempty"`
}

type deadLetters struct {
	mu   sync.Mutex
	path string
}

func openDeadLetters(dir string) (*deadLetters, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	return &deadLetters{path: filepath.Join(dir, DeadLetterFile)}, nil
}

func (d *deadLetters) add(l deadLetter) error {
	if l.ID == "" {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		l.ID = "dl_" + hex.EncodeToString(b)
	}
	if l.Time.IsZero() {
		l.Time = time.Now().UTC()
	}
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := os.OpenFile(d.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open dead-letter file: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// RedriveResult counts what Redrive did.
type RedriveResult struct {
	Replayed int `json:"replayed"`
	Failed   int `json:"failed"`
}

// Redrive replays the dead letters in dataDir against svc and keeps only those that fail again:
//   - a change naming a record: its form entries are rebuilt from the stored record and its
//     cadre recomputed;
//   - an undecodable change (it names no record) or a failed job: a full recompute that also
//     rebuilds every form entry (run once, however many such letters there are).
//
// It writes one line per letter to out. Run it with the server stopped (cadred redrive), or
// while it runs: the file is rewritten atomically and new letters appended meanwhile are kept.
func Redrive(ctx context.Context, svc *app.Service, dataDir string, out io.Writer) (RedriveResult, error) {
	d, err := openDeadLetters(dataDir)
	if err != nil {
		return RedriveResult{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	raw, err := os.ReadFile(d.path)
	if os.IsNotExist(err) {
		fmt.Fprintln(out, "no dead letters")
		return RedriveResult{}, nil
	}
	if err != nil {
		return RedriveResult{}, err
	}
	var (
		res      RedriveResult
		keep     bytes.Buffer
		full     []deadLetter
		fullLine [][]byte
	)
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var l deadLetter
		if err := json.Unmarshal(line, &l); err != nil {
			fmt.Fprintf(out, "line %d: unreadable, kept: %v\n", n, err)
			keep.Write(append(line, '\n'))
			res.Failed++
			continue
		}
		if l.Kind == letterChange && l.Change != nil && l.Change.Undecodable == "" && l.Change.RecordID != "" {
			if err := svc.RepairRecord(ctx, l.Change.RecordID, l.Change.CadreID); err != nil {
				fmt.Fprintf(out, "%s: record %s failed again, kept: %v\n", l.ID, l.Change.RecordID, err)
				keep.Write(append(line, '\n'))
				res.Failed++
				continue
			}
			fmt.Fprintf(out, "%s: record %s replayed (form entries rebuilt, cadre %s recomputed)\n", l.ID, l.Change.RecordID, l.Change.CadreID)
			res.Replayed++
			continue
		}
		full = append(full, l)
		fullLine = append(fullLine, append([]byte(nil), line...))
	}
	if len(full) > 0 {
		fmt.Fprintf(out, "%d letter(s) name no record (undecodable changes, failed jobs): running a full recompute that rebuilds every form entry\n", len(full))
		r, err := svc.RecomputeUnitWith(ctx, "", training.Date{}, app.FullRecomputeWorkers, true, func(id string, err error) {
			fmt.Fprintf(out, "cadre %s: %v\n", id, err)
		})
		if err != nil || r.Failed > 0 {
			for _, line := range fullLine {
				keep.Write(append(line, '\n'))
			}
			res.Failed += len(full)
			fmt.Fprintf(out, "full recompute: %d recomputed, %d failed, err=%v; letters kept\n", r.Recomputed, r.Failed, err)
		} else {
			res.Replayed += len(full)
			fmt.Fprintf(out, "full recompute: %d cadres recomputed\n", r.Recomputed)
		}
	}
	if err := sc.Err(); err != nil {
		return res, err
	}
	// Letters appended while we worked are kept too (the server may be running).
	if now, err := os.ReadFile(d.path); err == nil && len(now) > len(raw) {
		keep.Write(now[len(raw):])
	}
	if keep.Len() == 0 {
		return res, os.Remove(d.path)
	}
	return res, writeFileAtomic(d.path, keep.Bytes())
}
