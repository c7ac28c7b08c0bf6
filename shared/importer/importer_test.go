package importer

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/bolt"
	"github.com/cadre-training/cadretrain/shared/training"
	"github.com/xuri/excelize/v2"
)

var ctx = context.Background()

// newService is the app over a real embedded store in a temp dir, on 2026-11-27.
func newService(t *testing.T) (*app.Service, *bolt.Store) {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "cadretrain.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	svc := app.New(s)
	svc.Now = func() time.Time { return time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC) }
	return svc, s
}

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readReport returns the report's rows after its header: file, line, field, message.
func readReport(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows[1:]
}

const profilesZH = "\ufeff干部编号,姓名,单位,职级,职级生效日期,领导班子成员\n" +
	"c1,张三,cn/cq/a,县处级副职,2020-01-01,是\n" +
	"c2,李四,cn/cq/a,principal_staff_1,2020/3/5,否\n" +
	"c3,,cn/cq/a,no_such_rank,2020-01-01,否\n" + // line 4: name and rank
	"c4,王五,cn/cq/b,clerk,someday,也许\n" // line 5: rank_effective_on and leadership_member

const recordsEN = "cadre_id,event_id,kind,full_time,course_title,institution,institution_type,start_date,end_date,days,hours,studied_on\n" +
	"c1,e1,集中培训,是,专题培训,中共重庆市委党校,party_school,2026-03-02,2026-03-06,5,40,\n" +
	"c1,e2,online,,网络课程,,,,,,2.5,2026-04-01\n" +
	"c2,e3,online,,网络课程,,,,,,0,2026-04-01\n" + // line 4: hours
	"c9,e4,online,,网络课程,,,,,,2,2026-04-01\n" + // line 5: no such cadre
	"c2,e5,online,,\"课程, 带逗号\",,,,,,1.5,2099-01-01\n" + // line 6: studied_on in the future
	"c2,e1,online,,网络课程,,,,,,3,2026-05-01\n" + // line 7: fine (e1 of another row, same source: same key!)
	"c2,e6,bogus,,网络课程,,,,,,3,2026-05-01\n" + // line 8: kind
	"c1,e7,centralized,否,半天专题,区委党校,,2026-03-09,2026-03-10,1.5,12,\n" + // line 9: fine (docs/rules.md “Half days”)
	"c1,e8,centralized,否,专题,区委党校,,2026-03-11,2026-03-11,0.25,4,\n" // line 10: days

// TestImportReportsBadRowsByLineAndField: issue 12 item 3 — Chinese and English headers, a BOM,
// slashed dates; every bad row is reported by its line and field with the API's messages, and
// the good rows are imported with their form entries (docs/rules.md §4 Forms: a full-time
// centralized training is entered in the appraisal form).
func TestImportReportsBadRowsByLineAndField(t *testing.T) {
	svc, s := newService(t)
	dir := t.TempDir()
	p := write(t, dir, "cadres.csv", profilesZH)
	r := write(t, dir, "records.csv", recordsEN)
	res, err := Run(ctx, Options{Service: svc, Source: "hist"}, []string{r, p}) // records first on the command line: profiles still go first
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, row := range readReport(t, res.Report) {
		if row[0] == "#counts" {
			continue
		}
		got[filepath.Base(row[0])+":"+row[1]+":"+row[2]] = true
	}
	for _, want := range []string{
		"cadres.csv:4:name", "cadres.csv:4:rank", "cadres.csv:5:rank_effective_on", "cadres.csv:5:leadership_member",
		"records.csv:4:hours", "records.csv:5:cadre_id", "records.csv:6:studied_on", "records.csv:7:event_id", "records.csv:8:kind", "records.csv:10:days",
	} {
		if !got[want] {
			t.Errorf("report lacks %s; it has %v", want, got)
		}
	}
	if len(got) != 10 {
		t.Errorf("report has %d entries, want 10: %v", len(got), got)
	}
	if res.Rows != 13 || res.Imported != 5 || res.Rejected != 8 || res.Already != 0 {
		t.Errorf("counts %+v, want 13 rows, 5 imported, 8 rejected", res)
	}
	if half, err := s.GetRecord(ctx, training.RecordID("import/hist", "e7")); err != nil || half.Days.String() != "1.5" {
		t.Errorf("e7 = %+v, %v; want 1.5 days", half, err)
	}
	c, err := s.GetCadre(ctx, "c2")
	if err != nil || c.RankHistory[0].EffectiveOn != training.MustDate("2020-03-05") {
		t.Fatalf("c2 = %+v, %v", c, err)
	}
	c1, _ := s.GetCadre(ctx, "c1")
	if c1.Rank != "county_deputy" || !c1.LeadershipMember {
		t.Errorf("c1 = %+v: the Chinese rank title and 是 were not read", c1)
	}
	rec, err := s.GetRecord(ctx, training.RecordID("import/hist", "e1"))
	if err != nil || rec.CadreID != "c1" || rec.Hours != training.HoursOf(40) || !rec.FullTime {
		t.Fatalf("e1 = %+v, %v", rec, err)
	}
	if err := rec.CheckSealed(); err != nil {
		t.Errorf("e1 is not sealed: %v", err)
	}
	entries, err := s.ListFormEntries(ctx, "c1", training.FormAppraisal)
	if err != nil || len(entries) != 1 || entries[0].RecordID != rec.ID {
		t.Errorf("appraisal form of c1: %+v, %v", entries, err)
	}
	if _, err := s.GetSnapshot(ctx, "c1"); err != nil {
		t.Errorf("no status stored for c1: %v", err)
	}
}

// TestHeaders: the kind of a table comes from its header; unknown or missing columns are errors.
func TestHeaders(t *testing.T) {
	for _, tc := range []struct {
		head []string
		kind Kind
		err  string
	}{
		{[]string{"\ufeff干部编号", "姓名", "单位", "职级"}, Profiles, ""},
		{[]string{" Cadre_ID ", "NAME", "unit", "rank"}, Profiles, ""},
		{[]string{"干部编号", "记录编号", "培训类型", "学时", "学习日期"}, Records, ""},
		{[]string{"干部编号", "姓名", "爱好"}, "", "unknown column(s) 爱好"},
		{[]string{"干部编号", "单位"}, "", "no name column"},
		{[]string{"姓名", "单位"}, "", "no cadre_id column"},
		{[]string{"cadre_id", "event_id", "hours", "学时"}, "", "appears twice"},
	} {
		kind, _, err := header(tc.head)
		if tc.err == "" && (err != nil || kind != tc.kind) {
			t.Errorf("%v: %s, %v; want %s", tc.head, kind, err, tc.kind)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%v: %v, want an error with %q", tc.head, err, tc.err)
		}
	}
}

// TestImportXLSX: a workbook with a profile sheet and a record sheet (Chinese headers) imports
// like the CSV files, rows reported by sheet and row number.
func TestImportXLSX(t *testing.T) {
	svc, s := newService(t)
	f := excelize.NewFile()
	f.SetSheetName("Sheet1", "干部")
	f.NewSheet("培训记录")
	rows := map[string][][]any{
		"培训记录": {{"干部编号", "记录编号", "培训类型", "学时", "学习日期"}, {"x1", "r1", "网络培训", "2.5", "2026-02-01"}, {"x1", "r2", "网络培训", "abc", "2026-02-01"}},
		"干部":   {{"干部编号", "姓名", "单位", "职级"}, {"x1", "赵六", "cn/gd/a", "clerk"}},
	}
	for sheet, rs := range rows {
		for i, r := range rs {
			cell, _ := excelize.CoordinatesToCellName(1, i+1)
			if err := f.SetSheetRow(sheet, cell, &r); err != nil {
				t.Fatal(err)
			}
		}
	}
	path := filepath.Join(t.TempDir(), "import.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, Options{Service: svc}, []string{path})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 2 || res.Rejected != 1 {
		t.Errorf("counts %+v, want 2 imported, 1 rejected", res)
	}
	if r, err := s.GetRecord(ctx, training.RecordID("import/hr", "r1")); err != nil || r.Hours != 250 {
		t.Errorf("r1 = %+v, %v", r, err)
	}
	rep := readReport(t, res.Report)
	if len(rep) < 1 || !strings.HasSuffix(rep[0][0], "#培训记录") || rep[0][1] != "3" || rep[0][2] != "hours" {
		t.Errorf("report %v, want sheet 培训记录 row 3 field hours", rep)
	}
}

// failingLoader is the embedded store whose Load does what stop says after n successful calls:
// cancel the import's context (Ctrl-C), or report an error after committing (a kill between the
// commit and the checkpoint).
type failingLoader struct {
	*bolt.Store
	n      int
	cancel context.CancelFunc
	crash  bool
}

func (f *failingLoader) Load(ctx context.Context, cs []training.Cadre, rs []training.Record) error {
	f.n--
	if f.n == 0 && f.cancel != nil {
		f.cancel()
	}
	err := f.Store.Load(ctx, cs, rs)
	if f.n == 0 && f.crash && err == nil {
		return errors.New("killed after the commit")
	}
	return err
}

// TestImportResumes: issue 12 item 3 — an import stopped half-way (Ctrl-C, or killed between a
// commit and its checkpoint) and run again with the same input stores every row exactly once,
// with its form entries and statuses (docs/rules.md §4).
func TestImportResumes(t *testing.T) {
	for _, stop := range []string{"interrupt", "crash"} {
		t.Run(stop, func(t *testing.T) {
			svc, s := newService(t)
			dir := t.TempDir()
			files, err := Generate(dir, 60, 5)
			if err != nil {
				t.Fatal(err)
			}
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			fl := &failingLoader{Store: s, n: 4, crash: stop == "crash"}
			if stop == "interrupt" {
				fl.cancel = cancel
			}
			half := app.New(fl)
			half.Now = svc.Now
			opt := Options{Service: half, Batch: 50, StateDir: dir}
			res, err := Run(cctx, opt, files)
			if err == nil {
				t.Fatalf("the first run was not stopped: %+v", res)
			}
			if stop == "interrupt" && !errors.Is(err, ErrInterrupted) {
				t.Fatalf("interrupted run: %v", err)
			}
			first := res.Imported
			if first == 0 || first >= 360 {
				t.Fatalf("the first run imported %d of 360 rows: not half-way", first)
			}
			opt.Service = svc
			res, err = Run(ctx, opt, files)
			if err != nil {
				t.Fatal(err)
			}
			if res.Rows != 360 || res.Imported+res.Already != 360 || res.Rejected != 0 {
				t.Fatalf("after the second run: %+v, want all 360 rows once", res)
			}
			if res.Skipped == 0 {
				t.Errorf("the second run redid every row: %+v", res)
			}
			recs := 0
			for i := range 60 {
				id := fmt.Sprintf("k%07d", i)
				rs, err := s.ListRecords(ctx, id)
				if err != nil || len(rs) != 5 {
					t.Fatalf("%s has %d records, %v; want 5", id, len(rs), err)
				}
				recs += len(rs)
				fe, _ := s.ListFormEntries(ctx, id, training.FormAppraisal)
				if len(fe) != 2 { // the two full-time trainings of each cadre
					t.Errorf("%s has %d appraisal entries, want 2", id, len(fe))
				}
				if _, err := s.GetSnapshot(ctx, id); err != nil {
					t.Errorf("%s has no status: %v", id, err)
				}
			}
			// A third run of the finished import changes nothing.
			res, err = Run(ctx, opt, files)
			if err != nil || res.Skipped != 360 {
				t.Fatalf("third run: %+v, %v", res, err)
			}
		})
	}
}

// TestImportReplacesSameTraining: docs/rules.md “One training, one count” — a row for the same
// centralized training (same course and dates) as an active record of the import's source, under
// another event id, replaces it as the API does: the earlier record is voided and its form entry
// withdrawn, within one batch and across imports.
func TestImportReplacesSameTraining(t *testing.T) {
	svc, s := newService(t)
	dir := t.TempDir()
	p := write(t, dir, "cadres.csv", "cadre_id,name,unit,rank\nc1,张三,cn/cq/a,clerk\n")
	head := "cadre_id,event_id,kind,full_time,course_title,start_date,end_date,hours\n"
	r1 := write(t, dir, "r1.csv", head+
		"c1,a1,centralized,true,专题培训,2026-03-02,2026-03-06,40\n"+
		"c1,a2,centralized,true,专题培训,2026-03-02,2026-03-06,32\n") // same training, corrected 学时
	if _, err := Run(ctx, Options{Service: svc}, []string{p, r1}); err != nil {
		t.Fatal(err)
	}
	r2 := write(t, dir, "r2.csv", head+"c1,a3,centralized,true,专题培训,2026-03-02,2026-03-06,36\n")
	if _, err := Run(ctx, Options{Service: svc}, []string{r2}); err != nil {
		t.Fatal(err)
	}
	want := map[string]training.RecordStatus{"a1": training.StatusVoided, "a2": training.StatusVoided, "a3": training.StatusActive}
	for ev, st := range want {
		r, err := s.GetRecord(ctx, training.RecordID("import/hr", ev))
		if err != nil || r.Status != st {
			t.Errorf("%s: %s, %v; want %s", ev, r.Status, err, st)
		}
	}
	entries, _ := s.ListFormEntries(ctx, "c1", training.FormAppraisal)
	active := 0
	for _, e := range entries {
		if e.Withdrawal == nil {
			active++
		}
	}
	if active != 1 {
		t.Errorf("%d active appraisal entries of %d, want 1: %+v", active, len(entries), entries)
	}
}
