// Package importer loads cadre profiles and historical training records from CSV or xlsx files
// in bulk (cadred import; docs/import.md). Every row goes through the API's own checks
// (app.Service.NewCadre / PutCadre for profiles, app.Service.PrepareRecord for records: fields,
// event id, plausibility) and a record must name an existing cadre; a bad row is written to the
// report by line and field and the import goes on. Records are sealed under the import's source
// ("import/<name>") and their event id, so a re-run or a resumed run creates no duplicate. On a
// store with a bulk path (the embedded store's Load) rows are written a batch per transaction and
// the import runs app.Service.HandleChanges on each batch itself (form entries, statuses, calls),
// since Load appends nothing to the change feed; on other stores (DynamoDB) each row goes
// through the ordinary service writes and their change feed does that work. A checkpoint in the
// data dir (rows committed per table) lets an interrupted import continue where it stopped.
package importer

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/training"
)

// Loader is the bulk path of stores that have one (shared/bolt's Load): new cadres and new
// sealed records in one transaction, nothing appended to the change feed.
type Loader interface {
	Load(ctx context.Context, cadres []training.Cadre, records []training.Record) error
}

// Options configure Run.
type Options struct {
	Service *app.Service
	// Source names the import: records are keyed by ("import/"+Source, event id). Default "hr".
	Source string
	// Report is the rejected-rows CSV; default next to the first input: <input>.rejected.csv.
	Report string
	// StateDir holds the checkpoint (the data dir); default the first input's directory.
	StateDir string
	// Progress receives the progress bar (stderr); Terminal draws it in place.
	Progress io.Writer
	Terminal bool
	// Batch is the rows per transaction (default 5000); Workers the parallel writers (default 8).
	Batch, Workers int
}

// Result counts the rows of a run.
type Result struct {
	Rows     int // data rows in the input
	Skipped  int // rows committed by an earlier run (before the checkpoint)
	Imported int // profiles written, records created
	Already  int // records stored before with the same content (a re-run)
	Rejected int // rows in the report
	Report   string
}

// ErrInterrupted is returned when the context ends: the rows committed so far are in the
// checkpoint, and running the same import again continues from there.
var ErrInterrupted = errors.New("import interrupted: run the same command again to continue")

// checkpoint is the state of an import of one set of inputs into one store.
type checkpoint struct {
	Inputs string         `json:"inputs"` // the inputs' digest
	Done   map[string]int `json:"done"`   // table → data rows committed
	Res    Result         `json:"result"`
}

// Run imports the files: profile tables first (records need their cadres), then record tables.
func Run(ctx context.Context, opt Options, files []string) (Result, error) {
	if len(files) == 0 {
		return Result{}, fmt.Errorf("no input files")
	}
	if opt.Source == "" {
		opt.Source = "hr"
	}
	var f training.Fields
	if training.CheckID(&f, "source", opt.Source); len(f) > 0 {
		return Result{}, fmt.Errorf("source %q: %s", opt.Source, f[0].Message)
	}
	if opt.Batch <= 0 {
		opt.Batch = 5000
	}
	if opt.Workers <= 0 {
		opt.Workers = 8
	}
	if opt.Report == "" {
		opt.Report = files[0] + ".rejected.csv"
	}
	if opt.StateDir == "" {
		opt.StateDir = filepath.Dir(files[0])
	}
	if opt.Progress == nil {
		opt.Progress = io.Discard
	}
	var tables []table
	for _, f := range files {
		ts, err := openTables(f)
		if err != nil {
			return Result{}, err
		}
		tables = append(tables, ts...)
	}
	sort.SliceStable(tables, func(i, j int) bool { return tables[i].kind == Profiles && tables[j].kind == Records })

	digest, err := digestOf(opt.Source, files)
	if err != nil {
		return Result{}, err
	}
	cpPath := filepath.Join(opt.StateDir, "import-"+digest[:16]+".checkpoint")
	cp := checkpoint{Inputs: digest, Done: map[string]int{}}
	resumed := false
	if b, err := os.ReadFile(cpPath); err == nil {
		if err := json.Unmarshal(b, &cp); err != nil || cp.Inputs != digest {
			return Result{}, fmt.Errorf("checkpoint %s is unreadable; delete it to start over", cpPath)
		}
		resumed = true
	}
	total := 0
	for _, t := range tables {
		n, err := countRows(t)
		if err != nil {
			return Result{}, err
		}
		total += n
	}
	rep, err := openReport(opt.Report, resumed)
	if err != nil {
		return Result{}, err
	}
	im := &run{opt: opt, rep: rep, cp: &cp, cpPath: cpPath, known: map[string]bool{}}
	im.res = cp.Res // the counts of earlier runs of this import
	im.res.Rows, im.res.Report = total, opt.Report
	if l, ok := opt.Service.Store.(Loader); ok {
		im.loader = l
	}
	im.skipped = cp.Res.Skipped
	im.bar = newBar(opt.Progress, opt.Terminal, total, cp.Res.Skipped)
	for _, t := range tables {
		if err = im.table(ctx, t); err != nil {
			if ctx.Err() != nil {
				err = ErrInterrupted
			}
			break
		}
	}
	im.bar.finish(im.doneRows())
	im.res.Skipped = im.skipped
	if rerr := rep.finish(im.res, err == nil); err == nil {
		err = rerr
	}
	if err == nil {
		// A complete import keeps its checkpoint: running it again reports every row as done.
		err = im.save()
	}
	return im.res, err
}

type run struct {
	opt     Options
	loader  Loader
	rep     *report
	cp      *checkpoint
	cpPath  string
	res     Result
	bar     *bar
	known   map[string]bool // cadres known to exist
	rows    int             // rows handled in this run (progress)
	skipped int             // rows committed by earlier runs
	mu      sync.Mutex      // res and rep, written by parallel workers
}

func (im *run) doneRows() int { return im.rows + im.skipped }

// item is one parsed data row.
type item struct {
	line int
	cols map[string]int
	row  []string
}

func (im *run) table(ctx context.Context, t table) error {
	it, err := t.rows()
	if err != nil {
		return err
	}
	defer it.close()
	done := im.cp.Done[t.name]
	n := 0
	var batch []item
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		// A batch once started is written whole: an interruption takes effect between batches.
		wctx := context.WithoutCancel(ctx)
		var err error
		if t.kind == Profiles {
			err = im.profiles(wctx, t.name, batch)
		} else {
			err = im.records(wctx, t.name, batch)
		}
		if err != nil {
			return err
		}
		im.cp.Done[t.name] = n
		im.rows += len(batch)
		batch = batch[:0]
		if err := im.save(); err != nil {
			return err
		}
		im.bar.update(im.doneRows())
		return nil
	}
	for {
		line, row, err := it.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		n++
		if n <= done {
			continue // committed by an earlier run
		}
		batch = append(batch, item{line: line, cols: t.cols, row: row})
		if len(batch) == im.opt.Batch {
			if ctx.Err() != nil {
				return ErrInterrupted
			}
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if ctx.Err() != nil {
		return ErrInterrupted
	}
	return flush()
}

// save writes the checkpoint atomically (a temp file renamed over it).
func (im *run) save() error {
	im.cp.Res = im.res
	im.cp.Res.Skipped = 0
	for _, n := range im.cp.Done {
		im.cp.Res.Skipped += n
	}
	b, _ := json.Marshal(im.cp)
	tmp := im.cpPath + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := im.rep.flush(); err != nil {
		return err
	}
	return os.Rename(tmp, im.cpPath)
}

func (im *run) reject(name string, line int, err error) {
	im.res.Rejected++
	var e *training.Error
	if errors.As(err, &e) && len(e.Fields) > 0 {
		for _, f := range e.Fields {
			im.rep.row(name, line, f.Field, f.Message)
		}
		return
	}
	im.rep.row(name, line, "", err.Error())
}

// profiles stores a batch of profile rows: new cadres in one Load, existing ones (or all, on a
// store without Load) through app.Service.PutCadre.
func (im *run) profiles(ctx context.Context, name string, batch []item) error {
	svc := im.opt.Service
	var fresh []training.Cadre
	var updates []func() error
	inBatch := map[string]bool{}
	for _, it := range batch {
		c := &cells{row: it.row, cols: it.cols}
		id, in := profileRow(c)
		if err := c.errs.Err(); err != nil {
			im.reject(name, it.line, mergeFields(c.errs, svc.CheckProfile(id, in)).Err())
			continue
		}
		exists := inBatch[id]
		if !exists && im.loader != nil {
			_, err := svc.Store.GetCadre(ctx, id)
			if err != nil && training.ErrorCode(err) != training.ENOTFOUND {
				return err
			}
			exists = err == nil
		}
		if im.loader == nil || exists {
			line := it.line
			updates = append(updates, func() error {
				_, _, err := svc.PutCadre(ctx, nil, id, in)
				return im.rowErr(name, line, err)
			})
			continue
		}
		cadre, err := svc.NewCadre(id, in)
		if err != nil {
			im.reject(name, it.line, err)
			continue
		}
		inBatch[id] = true
		fresh = append(fresh, cadre)
	}
	if len(fresh) > 0 {
		if err := im.loader.Load(ctx, fresh, nil); err != nil {
			return err
		}
		for _, c := range fresh {
			im.known[c.ID] = true
		}
	}
	im.res.Imported += len(fresh)
	// Rows of one cadre run in order (a later row of the batch updates the one before it).
	return im.parallel(updates, true)
}

// rowErr reports a row's validation error and counts it; other errors stop the import.
func (im *run) rowErr(name string, line int, err error) error {
	switch training.ErrorCode(err) {
	case "":
		if err != nil {
			return err
		}
		im.mu.Lock()
		im.res.Imported++
		im.mu.Unlock()
		return nil
	case training.EINVALID, training.ENOTFOUND, training.EFORBIDDEN, training.ECONFLICT:
		im.mu.Lock()
		im.reject(name, line, err)
		im.mu.Unlock()
		return nil
	}
	return err
}

// parallel runs the writes on Workers goroutines (sequentially when ordered), stopping at the
// first error that is not a row's.
func (im *run) parallel(fns []func() error, ordered bool) error {
	if ordered {
		for _, f := range fns {
			if err := f(); err != nil {
				return err
			}
		}
		return nil
	}
	ch := make(chan func() error)
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range im.opt.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range ch {
				if err := f(); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for _, f := range fns {
		ch <- f
	}
	close(ch)
	wg.Wait()
	return first
}

// records checks a batch of record rows and stores the good ones.
func (im *run) records(ctx context.Context, name string, batch []item) error {
	svc := im.opt.Service
	source := "import/" + im.opt.Source
	var fresh []training.Record
	var changes []training.Change
	var submits []func() error
	seen := map[string]int{}                   // record id → line, within the batch
	archives := map[string][]training.Record{} // cadre → its records, stored and of this batch (sameTraining)
	var replaces []replace
	for _, it := range batch {
		c := &cells{row: it.row, cols: it.cols}
		r, daysGiven := recordRow(c, source, im.opt.Source)
		if len(c.errs) > 0 {
			// Also run the rule checks, so every bad field is named at once (as the API does).
			im.reject(name, it.line, mergeFields(c.errs, training.CheckRecord(&r, daysGiven)).Err())
			continue
		}
		if im.loader == nil {
			line := it.line
			submits = append(submits, func() error {
				res, err := svc.SubmitRecord(ctx, nil, r, daysGiven)
				if err == nil && res.Outcome == training.Duplicate {
					im.mu.Lock()
					im.res.Already++
					im.mu.Unlock()
					return nil
				}
				var f training.Fields
				switch {
				case err == nil && res.Outcome == training.Conflict:
					f.Add("event_id", "%s was imported before with other content", r.ExternalID)
					err = f.Err()
				case training.ErrorCode(err) == training.ENOTFOUND:
					f.Add("cadre_id", "no cadre %s: import its profile first", r.CadreID)
					err = f.Err()
				}
				return im.rowErr(name, line, err)
			})
			continue
		}
		r, err := svc.PrepareRecord(r, daysGiven)
		if err != nil {
			im.reject(name, it.line, err)
			continue
		}
		if err := im.cadreExists(ctx, r.CadreID); err != nil {
			if training.ErrorCode(err) != training.ENOTFOUND {
				return err
			}
			var f training.Fields
			f.Add("cadre_id", "no cadre %s: import its profile first", r.CadreID)
			im.reject(name, it.line, f.Err())
			continue
		}
		if l, dup := seen[r.ID]; dup {
			var f training.Fields
			f.Add("event_id", "repeats the event id of line %d", l)
			im.reject(name, it.line, f.Err())
			continue
		}
		seen[r.ID] = it.line
		old, err := svc.Store.GetRecord(ctx, r.ID)
		switch {
		case err == nil && old.ContentHash == r.ContentHash:
			// Imported before (a re-run, or a batch committed just before an interruption): its
			// changes are handled again, which is idempotent.
			im.res.Already++
			changes = append(changes, training.Change{Kind: training.ChangeInsert, CadreID: old.CadreID, RecordID: old.ID, New: &old, At: old.CreatedAt})
			continue
		case err == nil:
			var f training.Fields
			f.Add("event_id", "%s was imported before with other content", r.ExternalID)
			im.reject(name, it.line, f.Err())
			continue
		case training.ErrorCode(err) != training.ENOTFOUND:
			return err
		}
		// The same training as an active record of this source (stored, or earlier in the
		// batch) replaces it, as through the API: that row takes SubmitRecord's path after the
		// batch is loaded.
		if r.Kind == training.KindCentralized {
			same, err := im.sameTraining(ctx, r, archives)
			if err != nil {
				return err
			}
			if same != "" {
				replaces = append(replaces, replace{it.line, r, daysGiven, same})
				continue
			}
			archives[r.CadreID] = append(archives[r.CadreID], r)
		}
		fresh = append(fresh, r)
	}
	if im.loader == nil {
		return im.parallel(submits, false)
	}
	if len(fresh) > 0 {
		if err := im.loader.Load(ctx, nil, fresh); err != nil {
			return err
		}
		im.res.Imported += len(fresh)
	}
	for i := range fresh {
		r := &fresh[i]
		changes = append(changes, training.Change{Kind: training.ChangeInsert, CadreID: r.CadreID, RecordID: r.ID, New: r, At: r.CreatedAt})
	}
	for _, rp := range replaces {
		res, err := svc.SubmitRecord(ctx, nil, rp.r, rp.daysGiven)
		if err := im.rowErr(name, rp.line, err); err != nil {
			return err
		}
		if err == nil {
			// The new record and the voided one, read back by HandleChanges (New unset).
			changes = append(changes, training.Change{Kind: training.ChangeInsert, CadreID: rp.r.CadreID, RecordID: res.Record.ID},
				training.Change{Kind: training.ChangeModify, CadreID: rp.r.CadreID, RecordID: rp.old})
		}
	}
	return im.handle(ctx, changes)
}

// replace is a record row that replaces an earlier record of the same training.
type replace struct {
	line      int
	r         training.Record
	daysGiven bool
	old       string
}

// sameTraining returns the id of the record r replaces (training.ReplacedReport) among the cadre's
// stored records and those of the batch before it (batch, read from the store once per cadre).
func (im *run) sameTraining(ctx context.Context, r training.Record, batch map[string][]training.Record) (string, error) {
	recs, ok := batch[r.CadreID]
	if !ok {
		stored, err := im.opt.Service.Store.ListRecords(ctx, r.CadreID)
		if err != nil {
			return "", err
		}
		recs = stored
		batch[r.CadreID] = recs
	}
	return training.ReplacedReport(recs, r), nil
}

// handle runs what the change feed would run for the batch's records (Load appends nothing to
// the feed), through app.Service.HandleChanges: the form entries of each record, then each
// cadre's status (once per batch) and calls. The calls run concurrently — forms one per record
// (independent of each other), the rest one per cadre (a cadre's changes in order) — so that the
// embedded store commits their writes together: a few fsyncs per batch instead of one per entry.
func (im *run) handle(ctx context.Context, changes []training.Change) error {
	var forms, rest [][]training.Change
	slot := map[string]int{}
	for _, ch := range changes {
		if ch.New != nil && ch.New.FullTime {
			forms = append(forms, []training.Change{ch})
		}
		g, ok := slot[ch.CadreID]
		if !ok {
			g = len(rest)
			slot[ch.CadreID] = g
			rest = append(rest, nil)
		}
		rest[g] = append(rest[g], ch)
	}
	if err := im.concurrently(ctx, forms, app.WorkForms); err != nil {
		return err
	}
	return im.concurrently(ctx, rest, app.WorkAll&^app.WorkForms)
}

// concurrently runs HandleChanges on each group at the same time, at most maxConcurrent at once.
func (im *run) concurrently(ctx context.Context, groups [][]training.Change, work app.ChangeWork) error {
	errs := make([]error, len(groups))
	sem := make(chan struct{}, maxConcurrent)
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = im.opt.Service.HandleChanges(ctx, g, work)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// maxConcurrent bounds the concurrent HandleChanges calls of a batch: they mostly wait for a
// shared commit, so many more than the CPUs.
const maxConcurrent = 1024

func (im *run) cadreExists(ctx context.Context, id string) error {
	if im.known[id] {
		return nil
	}
	if _, err := im.opt.Service.Store.GetCadre(ctx, id); err != nil {
		return err
	}
	im.known[id] = true
	return nil
}

func mergeFields(a, b training.Fields) training.Fields {
	out := append(training.Fields(nil), a...)
	for _, f := range b {
		dup := false
		for _, g := range a {
			if g.Field == f.Field {
				dup = true
			}
		}
		if !dup {
			out = append(out, f)
		}
	}
	return out
}

// digestOf identifies an import: the source and the inputs' names and contents.
func digestOf(source string, files []string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00", source)
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return "", err
		}
		abs, _ := filepath.Abs(f)
		fmt.Fprintf(h, "%s\x00", abs)
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func countRows(t table) (int, error) {
	it, err := t.rows()
	if err != nil {
		return 0, err
	}
	defer it.close()
	n := 0
	for {
		_, _, err := it.next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, fmt.Errorf("%s: %w", t.name, err)
		}
		n++
	}
}

// report is the CSV of rejected rows: file, line, field, message; the counts on the last row.
type report struct {
	f *os.File
	w *csv.Writer
}

func openReport(path string, resumed bool) (*report, error) {
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if resumed {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	r := &report{f: f, w: csv.NewWriter(f)}
	if st, _ := f.Stat(); st.Size() == 0 {
		r.w.Write([]string{"file", "line", "field", "message"})
	}
	return r, nil
}

func (r *report) row(file string, line int, field, msg string) {
	r.w.Write([]string{file, fmt.Sprint(line), field, msg})
}

func (r *report) flush() error {
	r.w.Flush()
	return r.w.Error()
}

func (r *report) finish(res Result, complete bool) error {
	state := "interrupted"
	if complete {
		state = "complete"
	}
	r.w.Write([]string{"#counts", "", "", fmt.Sprintf("%s: %d rows, %d imported, %d already imported, %d rejected, %d done by an earlier run",
		state, res.Rows, res.Imported, res.Already, res.Rejected, res.Skipped)})
	if err := r.flush(); err != nil {
		return err
	}
	return r.f.Close()
}

// bar is the progress on stderr: drawn in place on a terminal, else a plain line every 5 s.
type bar struct {
	w        io.Writer
	term     bool
	total    int
	start    time.Time
	last     time.Time
	lastDone int
	startRow int // rows done by earlier runs: not part of this run's rate
}

func newBar(w io.Writer, term bool, total, skipped int) *bar {
	return &bar{w: w, term: term, total: total, start: time.Now(), startRow: skipped}
}

func (b *bar) line(done int) string {
	el := time.Since(b.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(done-b.startRow) / el
	}
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(b.total-done)/rate) * time.Second).Round(time.Second).String()
	}
	pct := 100.0
	if b.total > 0 {
		pct = 100 * float64(done) / float64(b.total)
	}
	s := fmt.Sprintf("%d/%d rows (%.1f%%), %.0f rows/s, ETA %s", done, b.total, pct, rate, eta)
	if b.term {
		n := int(pct / 5)
		s = "[" + strings.Repeat("#", n) + strings.Repeat(".", 20-n) + "] " + s
	}
	return s
}

func (b *bar) update(done int) {
	now := time.Now()
	if b.term {
		fmt.Fprintf(b.w, "\r%s\x1b[K", b.line(done))
		return
	}
	if now.Sub(b.last) >= 5*time.Second {
		b.last, b.lastDone = now, done
		fmt.Fprintln(b.w, "import:", b.line(done))
	}
}

func (b *bar) finish(done int) {
	if b.term {
		fmt.Fprintf(b.w, "\r%s\x1b[K\n", b.line(done))
		return
	}
	if done != b.lastDone || b.last.IsZero() {
		fmt.Fprintln(b.w, "import:", b.line(done))
	}
}
