package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/training"
)

func TestDisplayWidth(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"王芳", 4},
		{"县处级以上", 10},
		{"中共重庆市委党校（重庆行政学院）", 32}, // fullwidth parentheses are wide too
		{"a王b", 4},
		{"e\u0301", 1}, // combining acute accent takes no column
		{"61/90d 320/550h on_track", 24},
	} {
		if got := displayWidth(tc.s); got != tc.want {
			t.Errorf("displayWidth(%q) = %d, want %d", tc.s, got, tc.want)
		}
	}
}

func TestPad(t *testing.T) {
	if got := pad("王芳", 6); got != "王芳  " {
		t.Errorf("pad(王芳, 6) = %q", got)
	}
	if got := pad("abc", 2); got != "abc" {
		t.Errorf("pad never truncates: %q", got)
	}
}

// Every row of a table has its columns start at the same display column, CJK or not.
func TestWriteTableAligns(t *testing.T) {
	var b bytes.Buffer
	writeTable(&b, [][]string{
		{"id", "姓名", "state"},
		{"demo-yz-01", "王伟", "met"},
		{"x", "欧阳建国", "on_track"},
		{"demo-cd-12", "li", "-"},
	})
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[1], "---") {
		t.Fatalf("table:\n%s", b.String())
	}
	col := func(line, cell string) int { return displayWidth(line[:strings.LastIndex(line, cell)]) }
	want := col(lines[0], "state")
	for i, cell := range map[int]string{2: "met", 3: "on_track", 4: "-"} {
		if got := col(lines[i], cell); got != want {
			t.Errorf("line %d: %q starts at column %d, want %d\n%s", i, cell, got, want, b.String())
		}
	}
	if displayWidth(lines[1]) != displayWidth(lines[3]) {
		t.Errorf("rule %d wide, widest row %d", displayWidth(lines[1]), displayWidth(lines[3]))
	}
}

func day(s string) training.Date { return training.MustDate(s) }

var testDays = []string{"2026-11-22", "2026-01-01", "2026-02-10", "2026-06-30", "2026-12-31", "2028-03-15"}

func TestGenerateInvariants(t *testing.T) {
	for _, today := range testDays {
		t.Run(today, func(t *testing.T) {
			checkInvariants(t, Generate(day(today)))
		})
	}
}

func checkInvariants(t *testing.T, ds *Dataset) {
	pol := training.CurrentPolicy(time.Date(ds.Today.Year, ds.Today.Month, ds.Today.Day, 12, 0, 0, 0, training.CST))
	if len(ds.Cadres) < 45 {
		t.Errorf("%d cadres, want at least 45", len(ds.Cadres))
	}
	ids := map[string]bool{}
	cats, codes, titles, leaders, changes := map[string]int{}, 0, 0, 0, 0
	units := map[string]int{}
	for _, c := range ds.Cadres {
		if ids[c.ID] {
			t.Errorf("duplicate cadre id %s", c.ID)
		}
		ids[c.ID] = true
		units[c.Profile.Unit]++
		for _, p := range []*Profile{&c.Profile, c.Change} {
			if p == nil {
				continue
			}
			ri, ok := pol.LookupRank(p.Rank)
			if !ok {
				t.Errorf("%s: rank %q is not in docs/rules.md §1", c.ID, p.Rank)
				continue
			}
			cats[ri.Category]++
			if p.Rank == ri.Code {
				codes++
			} else {
				titles++
			}
			if p.Name == "" || p.Unit == "" || p.JoinedOn.After(ds.Today) || p.RankEffectiveOn.After(ds.Today) {
				t.Errorf("%s: bad profile %+v", c.ID, p)
			}
		}
		if c.Change != nil {
			changes++
			if c.Change.Rank == c.Profile.Rank || !c.Profile.RankEffectiveOn.Before(c.Change.RankEffectiveOn) {
				t.Errorf("%s: the second PUT is not a later rank change: %+v then %+v", c.ID, c.Profile, *c.Change)
			}
		}
		if c.Profile.LeadershipMember {
			leaders++
		}
	}
	if len(units) < 3 || cats["county_and_above"] == 0 || cats["township_and_below"] == 0 || codes == 0 || titles == 0 || leaders == 0 || changes < 2 {
		t.Errorf("not mixed enough: units %v, categories %v, codes %d, titles %d, leaders %d, rank changes %d", units, cats, codes, titles, leaders, changes)
	}

	keys := map[string]bool{}
	for _, s := range ds.SelfStudy {
		if keys[s.IdempotencyKey] {
			t.Errorf("Idempotency-Key %s used twice", s.IdempotencyKey)
		}
		keys[s.IdempotencyKey] = true
		if !ids[s.CadreID] || s.Hours <= 0 || s.StudiedOn.After(ds.Today) || s.StudiedOn.Year < ds.Today.Year-1 {
			t.Errorf("bad self-study %+v", s)
		}
	}
	events := map[string]bool{}
	for _, c := range append(append([]Completion(nil), ds.Completions...), ds.Single...) {
		if events[c.EventID] {
			t.Errorf("event_id %s used twice", c.EventID)
		}
		events[c.EventID] = true
		if !ids[c.CadreID] || c.Hours <= 0 {
			t.Errorf("bad completion %+v", c)
		}
		switch c.Kind {
		case "centralized":
			span := c.StartDate.DaysThrough(c.EndDate)
			if c.FullTime == nil || c.EndDate.Before(c.StartDate) || c.EndDate.After(ds.Today) ||
				int64(c.Hours) > int64(span)*2400 || c.Days.Compare(training.WholeDays(int64(span))) > 0 {
				t.Errorf("bad centralized completion %+v", c)
			}
		case "online":
			at, err := time.Parse(time.RFC3339, c.CompletedAt)
			if err != nil || c.FullTime != nil || training.DateInCST(at).After(ds.Today) {
				t.Errorf("bad online completion %+v", c)
			}
		default:
			t.Errorf("bad kind %+v", c)
		}
	}
	// What the server will check (docs/rules.md §2), through the domain's own validation.
	for id, recs := range ds.Records() {
		for _, r := range recs {
			r := r
			if errs := training.CheckRecord(&r, !r.Days.IsZero()); len(errs) > 0 {
				t.Errorf("%s: record %s fails validation: %v", id, r.ExternalID, errs)
			}
		}
	}
	for _, v := range ds.Voids {
		if !events[v.EventID] || v.Reason == "" {
			t.Errorf("void of unknown event %+v", v)
		}
	}
	if len(ds.Completions) > 0 && BatchSize > 100 {
		t.Errorf("batches over the API's 100")
	}
}

// The data tells its stories: evaluated with the domain rules as of a day late in 2026, the states
// are mixed, last year has unmet cadres, and the forms get the entries docs/rules.md §4 calls for.
func TestGenerateStories(t *testing.T) {
	today := day("2026-11-22")
	ds := Generate(today)
	recs := ds.Records()
	now, last := map[training.State]int{}, map[training.State]int{}
	eligibleNo := 0
	for _, c := range ds.Cadres {
		tc := c.TrainingCadre()
		st, err := training.DefaultRules().Evaluate(tc, recs[c.ID], today, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		now[st.Overall]++
		if !st.AppraisalExcellentEligible {
			eligibleNo++
		}
		lst, err := training.DefaultRules().Evaluate(tc, recs[c.ID], day("2025-12-31"), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		last[lst.Overall]++
		if c.Change != nil && st.Category != "county_and_above" {
			t.Errorf("%s: promoted but judged %s", c.ID, st.Category)
		}
	}
	t.Logf("2026: %v; 2025: %v; not eligible: %d", now, last, eligibleNo)
	for _, s := range []training.State{"met", "on_track", "at_risk"} {
		if now[s] == 0 {
			t.Errorf("no cadre %s in 2026: %v", s, now)
		}
	}
	if last["unmet"] == 0 || last["met"] == 0 {
		t.Errorf("2025 should have met and unmet cadres: %v", last)
	}
	if eligibleNo == 0 {
		t.Error("no cadre with a failed assessment")
	}

	fc := ds.ExpectedForms()
	appointments, withdrawn := 0, 0
	months := map[int]int{}
	for id, f := range fc {
		appointments += f.Appointment
		withdrawn += f.Withdrawn
		for _, r := range recs[id] {
			if r.FullTime && r.Kind == training.KindCentralized {
				months[training.WholeMonths(r.StartDate, r.EndDate)]++
			}
		}
	}
	if withdrawn == 0 || appointments <= withdrawn {
		t.Errorf("appointment entries %d, withdrawn %d", appointments, withdrawn)
	}
	for _, m := range []int{0, 1, 2, 3} {
		if months[m] == 0 {
			t.Errorf("no full-time training of %d whole months: %v", m, months)
		}
	}
	// The boundary cases of docs/rules.md §4 are in the data.
	var exact, under, clamped bool
	for _, rs := range recs {
		for _, r := range rs {
			if !r.FullTime {
				continue
			}
			switch {
			case r.StartDate == day("2025-03-01") && r.EndDate == day("2025-04-30"):
				exact = true
			case r.StartDate == day("2025-03-01") && r.EndDate == day("2025-04-29"):
				under = true
			case r.StartDate == day("2025-12-31") && r.EndDate == day("2026-02-27"):
				clamped = true
			}
		}
	}
	if !exact || !under || !clamped {
		t.Errorf("boundary trainings: exactly 2 months %v, just under %v, clamped %v", exact, under, clamped)
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a, _ := json.Marshal(Generate(day("2026-11-22")))
	b, _ := json.Marshal(Generate(day("2026-11-22")))
	if !bytes.Equal(a, b) {
		t.Fatal("two runs on the same day generate different data: replays would conflict")
	}
}

func TestMeasureCell(t *testing.T) {
	d, td := training.DaysFromHalves(121), training.WholeDays(90) // 60.5 days: docs/rules.md “Half days”
	h, th := training.Hours(32050), training.HoursOf(550)
	r := training.RequirementStatus{Target: training.Measures{Days: &td, Hours: &th},
		Achieved: training.Measures{Days: &d, Hours: &h}, State: "on_track"}
	if got := measureCell(r); got != "60.5/90d 320.5/550h on_track" {
		t.Errorf("measureCell = %q", got)
	}
}

// TrainingCadre is the cadre as the rules evaluate it (rank history from both PUTs).
func (c Cadre) TrainingCadre() training.Cadre {
	tc := training.Cadre{ID: c.ID, Name: c.Profile.Name, Unit: c.Profile.Unit, Rank: c.Profile.Rank,
		LeadershipMember: c.Profile.LeadershipMember, JoinedOn: c.Profile.JoinedOn}
	tc.RankHistory = []training.RankChange{{Rank: c.Profile.Rank, EffectiveOn: c.Profile.RankEffectiveOn}}
	if c.Change != nil {
		tc.Rank = c.Change.Rank
		tc.RankHistory = append(tc.RankHistory, training.RankChange{Rank: c.Change.Rank, EffectiveOn: c.Change.RankEffectiveOn})
	}
	return tc
}
