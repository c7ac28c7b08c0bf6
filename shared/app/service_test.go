package app_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/bolt"
	"github.com/cadre-training/cadretrain/shared/training"
)

type units []string

func (u units) Sees(unit string) bool {
	for _, p := range u {
		if training.InUnit(unit, p) {
			return true
		}
	}
	return false
}

var now = time.Date(2025, 6, 30, 4, 0, 0, 0, time.UTC) // 2025-06-30 12:00 CST

func newService(t *testing.T) *app.Service {
	t.Helper()
	s := app.New(openBolt(t))
	s.Now = func() time.Time { return now }
	return s
}

// openBolt opens a new embedded store in the test's temporary directory, closed at its end.
func openBolt(t *testing.T) *bolt.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "cadre.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func mustPut(t *testing.T, s *app.Service, id string, in app.ProfileInput) training.Cadre {
	t.Helper()
	c, _, err := s.PutCadre(context.Background(), nil, id, in)
	if err != nil {
		t.Fatalf("PutCadre(%s): %v", id, err)
	}
	return c
}

func fieldNames(err error) []string {
	e, ok := err.(*training.Error)
	if !ok {
		return nil
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

// docs/rules.md §1 “Rank changes are kept as history with an effective date”; docs/api.md PUT /v1/cadres.
func TestPutCadreRankHistory(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	base := app.ProfileInput{Name: "张三", Unit: "cn/cq/yuzhong", Rank: "四级调研员", RankEffectiveOn: training.MustDate("2023-04-01")}

	c, created, err := s.PutCadre(ctx, nil, "c-1", base)
	if err != nil || !created {
		t.Fatalf("create: created=%v err=%v", created, err)
	}
	if got, want := c.Rank, "researcher_4"; got != want {
		t.Fatalf("rank=%q, want %q (title resolved to code)", got, want)
	}
	if got, want := c.Category, "county_and_above"; got != want {
		t.Fatalf("category=%q, want %q", got, want)
	}

	t.Run("SameRankKeepsHistory", func(t *testing.T) {
		in := base
		in.RankEffectiveOn = training.MustDate("2024-01-01")
		c, created, err := s.PutCadre(ctx, nil, "c-1", in)
		if err != nil || created {
			t.Fatalf("update: created=%v err=%v", created, err)
		}
		if got, want := len(c.RankHistory), 1; got != want {
			t.Fatalf("history len=%d, want %d", got, want)
		}
		if got, want := c.Version, int64(2); got != want {
			t.Fatalf("version=%d, want %d", got, want)
		}
	})
	t.Run("ChangeAppends", func(t *testing.T) {
		in := base
		in.Rank, in.RankEffectiveOn = "researcher_3", training.MustDate("2025-03-01")
		c := mustPut(t, s, "c-1", in)
		if got, want := len(c.RankHistory), 2; got != want {
			t.Fatalf("history len=%d, want %d", got, want)
		}
		if got, want := c.RankHistory[1], (training.RankChange{Rank: "researcher_3", EffectiveOn: training.MustDate("2025-03-01")}); got != want {
			t.Fatalf("history[1]=%+v, want %+v", got, want)
		}
	})
	t.Run("SameDayCorrectionReplaces", func(t *testing.T) {
		in := base
		in.Rank, in.RankEffectiveOn = "researcher_2", training.MustDate("2025-03-01")
		c := mustPut(t, s, "c-1", in)
		if got, want := len(c.RankHistory), 2; got != want {
			t.Fatalf("history len=%d, want %d", got, want)
		}
		if got, want := c.RankHistory[1].Rank, "researcher_2"; got != want {
			t.Fatalf("history[1].rank=%q, want %q", got, want)
		}
	})
	t.Run("ErrBackdatedChange", func(t *testing.T) {
		in := base
		in.Rank, in.RankEffectiveOn = "staff_1", training.MustDate("2024-12-31")
		_, _, err := s.PutCadre(ctx, nil, "c-1", in)
		if got, want := fieldNames(err), []string{"rank_effective_on"}; len(got) != 1 || got[0] != want[0] {
			t.Fatalf("fields=%v, want %v (err %v)", got, want, err)
		}
	})
	t.Run("DefaultEffectiveToday", func(t *testing.T) {
		in := base
		in.Rank, in.RankEffectiveOn = "bureau_deputy", training.Date{}
		c := mustPut(t, s, "c-1", in)
		if got, want := c.RankHistory[len(c.RankHistory)-1].EffectiveOn, training.MustDate("2025-06-30"); got != want {
			t.Fatalf("effective=%s, want %s (today in UTC+8)", got, want)
		}
	})
}

func TestPutCadreValidation(t *testing.T) {
	s := newService(t)
	_, _, err := s.PutCadre(context.Background(), nil, "c/1", app.ProfileInput{Unit: "cn//cq", Rank: "科长"})
	want := map[string]bool{"cadre_id": true, "name": true, "unit": true, "rank": true}
	got := fieldNames(err)
	if len(got) != len(want) {
		t.Fatalf("fields=%v, want all of %v", got, want)
	}
	for _, f := range got {
		if !want[f] {
			t.Fatalf("unexpected field %q in %v", f, got)
		}
	}
	if _, err := s.Store.GetCadre(context.Background(), "c/1"); training.ErrorCode(err) != training.ENOTFOUND {
		t.Fatalf("invalid PUT wrote something: %v", err)
	}
}

func TestPutCadreScope(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	mustPut(t, s, "c-sc", app.ProfileInput{Name: "李四", Unit: "cn/sc/chengdu", Rank: "staff_1"})
	cq := units{"cn/cq"}
	t.Run("ErrOutsideIsNotFound", func(t *testing.T) {
		_, _, err := s.PutCadre(ctx, cq, "c-sc", app.ProfileInput{Name: "李四", Unit: "cn/cq", Rank: "staff_1"})
		if got, want := training.ErrorCode(err), training.ENOTFOUND; got != want {
			t.Fatalf("code=%q, want %q", got, want)
		}
		if _, err := s.GetCadre(ctx, cq, "c-sc"); training.ErrorCode(err) != training.ENOTFOUND {
			t.Fatalf("GetCadre outside scope: %v, want not_found", err)
		}
	})
	t.Run("ErrCreateIntoOtherUnit", func(t *testing.T) {
		_, _, err := s.PutCadre(ctx, cq, "c-new", app.ProfileInput{Name: "王五", Unit: "cn/cqx", Rank: "staff_1"})
		if got, want := training.ErrorCode(err), training.EFORBIDDEN; got != want {
			t.Fatalf("code=%q, want %q", got, want)
		}
	})
}

func fullTime(cadre, event, start, end string, hours int64) training.Record {
	return training.Record{
		CadreID: cadre, Source: "platform/p", ExternalID: event, Kind: training.KindCentralized, FullTime: true,
		CourseTitle: "中青年干部培训班", Institution: "中央党校（国家行政学院）", InstitutionType: "party_school",
		StartDate: training.MustDate(start), EndDate: training.MustDate(end), Hours: training.HoursOf(hours),
	}
}

// docs/rules.md §4: form entries for full-time training; voiding withdraws them, keeping who/when/why.
func TestSubmitSyncAndVoid(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	mustPut(t, s, "c-1", app.ProfileInput{Name: "张三", Unit: "cn/cq", Rank: "staff_1"})

	t.Run("ErrUnknownCadre", func(t *testing.T) {
		_, err := s.SubmitRecord(ctx, nil, fullTime("ghost", "e0", "2025-03-01", "2025-04-30", 300), false)
		if got, want := training.ErrorCode(err), training.ENOTFOUND; got != want {
			t.Fatalf("code=%q, want %q", got, want)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		r := fullTime("c-1", "e-bad", "2025-03-10", "2025-03-01", 0)
		_, err := s.SubmitRecord(ctx, nil, r, false)
		if got, want := training.ErrorCode(err), training.EINVALID; got != want {
			t.Fatalf("code=%q, want %q", got, want)
		}
		if recs, _ := s.Store.ListRecords(ctx, "c-1"); len(recs) != 0 {
			t.Fatalf("invalid record stored: %+v", recs)
		}
	})

	res, err := s.SubmitRecord(ctx, nil, fullTime("c-1", "e1", "2025-03-01", "2025-04-30", 300), false)
	if err != nil || res.Outcome != training.Created {
		t.Fatalf("submit: %+v %v", res, err)
	}
	if got, want := res.Record.Days, training.WholeDays(61); got != want {
		t.Fatalf("days=%s, want %s (inclusive span when absent)", got, want)
	}
	again, _ := s.SubmitRecord(ctx, nil, fullTime("c-1", "e1", "2025-03-01", "2025-04-30", 300), false)
	if got, want := again.Outcome, training.Duplicate; got != want {
		t.Fatalf("replay outcome=%q, want %q", got, want)
	}
	other, _ := s.SubmitRecord(ctx, nil, fullTime("c-1", "e1", "2025-03-01", "2025-04-30", 301), false)
	if got, want := other.Outcome, training.Conflict; got != want {
		t.Fatalf("changed replay outcome=%q, want %q", got, want)
	}

	if err := s.SyncFormEntries(ctx, res.Record); err != nil {
		t.Fatal(err)
	}
	appt, _ := s.FormEntries(ctx, nil, "c-1", training.FormAppointment, 0)
	appr, _ := s.FormEntries(ctx, nil, "c-1", training.FormAppraisal, 2025)
	if len(appt) != 1 || len(appr) != 1 {
		t.Fatalf("entries: appointment=%d appraisal=%d, want 1 and 1", len(appt), len(appr))
	}
	if got, want := appt[0].Line, "2025.03—2025.04 在中央党校（国家行政学院）中青年干部培训班脱产培训"; got != want {
		t.Fatalf("line=%q, want %q", got, want)
	}
	if es, _ := s.FormEntries(ctx, nil, "c-1", training.FormAppraisal, 2024); len(es) != 0 {
		t.Fatalf("2024 appraisal entries=%d, want 0", len(es))
	}

	if _, _, err := s.VoidRecord(ctx, units{"cn/sc"}, res.Record.ID, "wrong cadre", "hr"); training.ErrorCode(err) != training.ENOTFOUND {
		t.Fatalf("void outside scope: %v, want not_found", err)
	}
	if _, _, err := s.VoidRecord(ctx, nil, res.Record.ID, "  ", "hr"); training.ErrorCode(err) != training.EINVALID {
		t.Fatalf("void without reason: %v, want invalid", err)
	}
	v, changed, err := s.VoidRecord(ctx, nil, res.Record.ID, "duplicate entry", "api-key:abc")
	if err != nil || !changed || v.Status != training.StatusVoided {
		t.Fatalf("void: %+v changed=%v err=%v", v, changed, err)
	}
	if _, changed, _ := s.VoidRecord(ctx, nil, res.Record.ID, "again", "x"); changed {
		t.Fatal("second void changed the record")
	}
	if err := s.SyncFormEntries(ctx, v); err != nil { // the voided record, as its MODIFY carries it
		t.Fatal(err)
	}
	appt, _ = s.FormEntries(ctx, nil, "c-1", training.FormAppointment, 0)
	if got, want := appt[0].Status, training.EntryWithdrawn; got != want {
		t.Fatalf("status=%q, want %q", got, want)
	}
	if w := appt[0].Withdrawal; w == nil || w.Reason != "duplicate entry" || w.By != "api-key:abc" {
		t.Fatalf("withdrawal=%+v, want the void's reason and actor", w)
	}
}

// docs/api.md: without as_of, the stored snapshot; with as_of, a fresh evaluation.
func TestQuotaStatusSnapshot(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	mustPut(t, s, "c-1", app.ProfileInput{Name: "张三", Unit: "cn/cq", Rank: "staff_1"})
	first, err := s.QuotaStatus(ctx, nil, "c-1", training.Date{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := first.AsOf, training.MustDate("2025-06-30"); got != want {
		t.Fatalf("as_of=%s, want %s", got, want)
	}
	if _, err := s.Store.GetSnapshot(ctx, "c-1"); err != nil {
		t.Fatalf("no snapshot stored on first read: %v", err)
	}
	fresh, err := s.QuotaStatus(ctx, nil, "c-1", training.MustDate("2025-12-31"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fresh.Overall, training.StateUnmet; got != want {
		t.Fatalf("overall as of 2025-12-31 = %q, want %q (nothing recorded)", got, want)
	}
	if _, err := s.QuotaStatus(ctx, nil, "c-1", training.MustDate("2022-06-30")); training.ErrorCode(err) != training.EINVALID {
		t.Fatalf("as_of before the first policy: %v, want invalid", err)
	}
}

func TestRecomputeUnit(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	for _, c := range []struct{ id, unit string }{{"a", "cn/cq"}, {"b", "cn/cq/yuzhong"}, {"c", "cn/cqx"}, {"d", "cn/sc"}} {
		mustPut(t, s, c.id, app.ProfileInput{Name: c.id, Unit: c.unit, Rank: "clerk"})
	}
	res, err := s.RecomputeUnit(ctx, "cn/cq", training.Date{}, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res, (app.RecomputeResult{Recomputed: 2}); got != want {
		t.Fatalf("unit cn/cq: %+v, want %+v", got, want)
	}
	res, _ = s.RecomputeUnit(ctx, "", training.Date{}, 3, nil)
	if got, want := res.Recomputed, 4; got != want {
		t.Fatalf("all: recomputed=%d, want %d", got, want)
	}
}

// A promotion dated in the future is kept in the history but the profile shows the rank in force
// today until then; evaluations as of a later date use the new rank (docs/rules.md §1).
func TestPutCadreFutureRank(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	mustPut(t, s, "c-1", app.ProfileInput{Name: "张三", Unit: "cn/cq", Rank: "staff_1", RankEffectiveOn: training.MustDate("2024-01-01")})
	c := mustPut(t, s, "c-1", app.ProfileInput{Name: "张三", Unit: "cn/cq", Rank: "county_deputy", RankEffectiveOn: training.MustDate("2025-09-01")})
	if got, want := c.Rank, "staff_1"; got != want {
		t.Fatalf("rank today=%q, want %q (the promotion is dated 2025-09-01, today is 2025-06-30)", got, want)
	}
	if got, want := len(c.RankHistory), 2; got != want {
		t.Fatalf("history len=%d, want %d", got, want)
	}
	later := *s
	later.Now = func() time.Time { return time.Date(2025, 9, 2, 0, 0, 0, 0, time.UTC) }
	got, err := later.GetCadre(ctx, nil, "c-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Rank != "county_deputy" || got.Category != "county_and_above" {
		t.Fatalf("after the effective date: rank=%q category=%q", got.Rank, got.Category)
	}
	st, err := s.QuotaStatus(ctx, nil, "c-1", training.MustDate("2025-12-31"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Category, "county_and_above"; got != want {
		t.Fatalf("category as of 2025-12-31=%q, want %q", got, want)
	}
}

// The service evaluates with its Rules: the overlay of the cadre's unit credits the training in
// the fresh status, the stored snapshot (Recompute) and GET /v1/policies' list alike
// (docs/rules.md “Local crediting overlays”).
func TestServiceRulesOverlay(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	ov := `{"id": "t", "unit": "cn/t", "title": "T", "effective_from": "2023-01-01", "source": "illustrative", "illustrative": true,
	 "crediting": {"days_to_hours": {"hours_per_day": 2, "replace_sent_hours": true}}}`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "t.json"), []byte(ov), 0o644); err != nil {
		t.Fatal(err)
	}
	rules, err := training.DefaultRules().WithOverlays(os.DirFS(dir), ".")
	if err != nil {
		t.Fatal(err)
	}
	s.Rules = rules
	mustPut(t, s, "c-1", app.ProfileInput{Name: "张三", Unit: "cn/t/u", Rank: "staff_1"})
	if _, err := s.SubmitRecord(ctx, nil, fullTime("c-1", "e1", "2025-03-01", "2025-03-05", 40), false); err != nil {
		t.Fatal(err)
	}
	asOf := training.MustDate("2025-06-30")
	fresh, err := s.QuotaStatus(ctx, nil, "c-1", asOf)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.Recompute(ctx, "c-1", asOf)
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]training.Status{"fresh": fresh, "recomputed": stored} {
		if st.Overlay != "t" || *st.Requirements[0].Achieved.Hours != training.HoursOf(10) {
			t.Errorf("%s: overlay %q, %s achieved %v 学时, want overlay t and 10 (5 days × 2)", name, st.Overlay, st.Requirements[0].ID, *st.Requirements[0].Achieved.Hours)
		}
	}
	if got := s.Policies().Overlays; len(got) != 1 || got[0].ID != "t" {
		t.Errorf("Policies().Overlays=%v, want [t]", got)
	}
}
