package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestE2ETrust shows docs/rules.md “One training, one count”, “Anomalies: flags”, “Plausibility
// and bounds”, “Corrections of profiles”, “Leadership terms” and “A status that explains itself”
// over HTTP.
func TestE2ETrust(t *testing.T) {
	runOnBothStores(t, []testCase{
		{"Supersedes", testSupersedes},
		{"SameTrainingNewEvent", testSameTrainingNewEvent},
		{"UnionOfDaysAndFlags", testUnionOfDaysAndFlags},
		{"Plausibility", testPlausibility},
		{"RankCorrection", testRankCorrection},
		{"LeadershipTerms", testLeadershipTerms},
	})
}

// records returns the cadre's archive by record id.
func (e *env) records(t *testing.T, cadre string) map[string]map[string]any {
	t.Helper()
	r := e.do(t, req{method: "GET", path: "/v1/cadres/" + cadre + "/records", key: keyCQ})
	wantStatus(t, r, http.StatusOK)
	out := map[string]map[string]any{}
	recs, _ := r.json(t)["records"].([]any)
	for _, x := range recs {
		m, _ := x.(map[string]any)
		out[fmt.Sprint(m["external_id"])] = m
	}
	return out
}

func flagsOf(m map[string]any) []string {
	var out []string
	fs, _ := m["flags"].([]any)
	for _, f := range fs {
		out = append(out, fmt.Sprint(f))
	}
	return out
}

// explained returns, for a requirement of an explain=true status, the reason of each record not
// counted and the days credited to each counted one, by record id.
func explained(t *testing.T, status map[string]any, reqID string) (reasons map[string]string, days map[string]float64) {
	t.Helper()
	ex, _ := requirement(t, status, reqID)["explain"].(map[string]any)
	if ex == nil {
		t.Fatalf("%s has no explain: %v", reqID, status)
	}
	reasons, days = map[string]string{}, map[string]float64{}
	nc, _ := ex["not_counted"].([]any)
	for _, x := range nc {
		m, _ := x.(map[string]any)
		reasons[fmt.Sprint(m["record_id"])] = fmt.Sprint(m["reason"])
	}
	c, _ := ex["counted"].([]any)
	for _, x := range c {
		m, _ := x.(map[string]any)
		d, _ := m["days"].(float64)
		days[fmt.Sprint(m["record_id"])] = d
	}
	return reasons, days
}

// A completion and, as a new event, its result: the result names the completion it supersedes.
// Before: 12 days "met" although the result was failed, and two lines in the appraisal form.
func testSupersedes(t *testing.T, e *env) {
	cadre := e.id("supersede")
	e.putCadre(t, keyCQ, cadre, unitCQ, townshipRk)
	done := centralized(e.id("sup-done"), cadre, "2025-03-02", "2025-03-13", 12, 90, true)
	delete(done, "assessment")
	result := centralized(e.id("sup-result"), cadre, "2025-03-02", "2025-03-13", 12, 90, true)
	result["assessment"], result["supersedes"], result["course_id"] = "failed", done["event_id"], done["course_id"]
	for _, c := range []map[string]any{done, result, done, result} { // the pair, then the pair again
		results(t, e.send(t, c))
	}
	if got := results(t, e.send(t, result)); got[0]["status"] != "duplicate" {
		t.Errorf("resent result %v, want duplicate", got)
	}
	recs := e.records(t, cadre)
	old, nu := recs[done["event_id"].(string)], recs[result["event_id"].(string)]
	void, _ := old["void"].(map[string]any)
	if old["status"] != "voided" || !strings.Contains(fmt.Sprint(void["reason"]), result["event_id"].(string)) {
		t.Errorf("superseded record %v, want voided naming %s", old, result["event_id"])
	}
	if nu["status"] != "active" || nu["supersedes"] != done["event_id"] {
		t.Errorf("superseding record %v", nu)
	}
	st := e.do(t, req{method: "GET", path: "/v1/cadres/" + cadre + "/quota-status?as_of=2025-12-31&explain=true", key: keyCQ})
	wantStatus(t, st, http.StatusOK)
	annual := requirement(t, st.json(t), "centralized_annual")
	if annual["state"] != "unmet" || measure(annual, "achieved", "days") != float64(0) {
		t.Errorf("centralized_annual %v, want unmet with 0 days (the result failed)", annual)
	}
	reasons, _ := explained(t, st.json(t), "centralized_annual")
	if reasons[old["record_id"].(string)] != "voided" || reasons[nu["record_id"].(string)] != "assessment_failed" {
		t.Errorf("explain reasons %v, want voided and assessment_failed", reasons)
	}
	// The appraisal form keeps one active line for the training.
	eventually(t, "one active appraisal entry", func() string {
		r := e.do(t, req{method: "GET", path: "/v1/cadres/" + cadre + "/appraisal-records?year=2025", key: keyCQ})
		es, _ := r.json(t)["entries"].([]any)
		active := 0
		for _, x := range es {
			if m, _ := x.(map[string]any); m["status"] == "active" {
				active++
			}
		}
		if active != 1 {
			return string(r.body)
		}
		return ""
	})
	// An event the platform never sent cannot be superseded.
	bad := centralized(e.id("sup-bad"), cadre, "2025-05-01", "2025-05-02", 2, 16, true)
	bad["supersedes"] = e.id("never-sent")
	wantProblem(t, e.send(t, bad), http.StatusBadRequest, "supersedes")
}

// The same cadre, course and dates from the same platform under a new event id replaces the
// earlier record (docs/rules.md “One training, one count”).
func testSameTrainingNewEvent(t *testing.T, e *env) {
	cadre := e.id("sametraining")
	e.putCadre(t, keyCQ, cadre, unitCQ, townshipRk)
	first := centralized(e.id("same-1"), cadre, "2025-04-07", "2025-04-12", 6, 45, false)
	second := centralized(e.id("same-2"), cadre, "2025-04-07", "2025-04-12", 6, 48, false)
	second["course_id"] = first["course_id"]
	results(t, e.send(t, first))
	if got := results(t, e.send(t, second)); got[0]["status"] != "created" {
		t.Fatalf("second report %v, want created", got)
	}
	recs := e.records(t, cadre)
	if recs[first["event_id"].(string)]["status"] != "voided" || recs[second["event_id"].(string)]["status"] != "active" {
		t.Errorf("archive %v, want the first voided and the second active", recs)
	}
	annual := requirement(t, e.status(t, keyCQ, cadre, "2025-12-31"), "centralized_annual")
	if measure(annual, "achieved", "days") != float64(6) || measure(annual, "achieved", "hours") != float64(48) {
		t.Errorf("centralized_annual %v, want 6 days and 48 学时", annual)
	}
}

// Two different trainings over the same 6 calendar days count 6 days (学时 add up); both are
// flagged overlaps_record, online study inside the full-time one online_during_full_time.
func testUnionOfDaysAndFlags(t *testing.T, e *env) {
	cadre := e.id("union")
	e.putCadre(t, keyCQ, cadre, unitCQ, townshipRk)
	a := centralized(e.id("union-a"), cadre, "2025-06-02", "2025-06-07", 6, 45, true)
	b := centralized(e.id("union-b"), cadre, "2025-06-02", "2025-06-07", 6, 45, false)
	results(t, e.send(t, map[string]any{"completions": []any{a, b}}))
	r := e.do(t, req{method: "POST", path: "/v1/cadres/" + cadre + "/self-study", key: keyCQ,
		header: map[string]string{"Idempotency-Key": e.id("union-ss")}, body: map[string]any{"hours": 2, "studied_on": "2025-06-03"}})
	wantStatus(t, r, http.StatusCreated)
	st := e.do(t, req{method: "GET", path: "/v1/cadres/" + cadre + "/quota-status?as_of=2025-12-31&explain=true", key: keyCQ})
	wantStatus(t, st, http.StatusOK)
	m := st.json(t)
	annual := requirement(t, m, "centralized_annual")
	if measure(annual, "achieved", "days") != float64(6) || measure(annual, "achieved", "hours") != float64(90) {
		t.Errorf("centralized_annual %v, want 6 days (not 12) and 90 学时", annual)
	}
	_, days := explained(t, m, "centralized_annual")
	if len(days) != 2 || days[recordIDOf(e, t, cadre, a)]+days[recordIDOf(e, t, cadre, b)] != 6 {
		t.Errorf("explained days %v, want 6 in all over the two records", days)
	}
	flags, _ := m["flags"].(map[string]any)
	if flags["overlaps_record"] != float64(2) || flags["online_during_full_time"] != float64(1) {
		t.Errorf("status flags %v, want overlaps_record 2 and online_during_full_time 1", flags)
	}
	recs := e.records(t, cadre)
	if f := flagsOf(recs[a["event_id"].(string)]); !slices.Contains(f, "overlaps_record") {
		t.Errorf("record a flags %v", f)
	}
	if f := flagsOf(recs[e.id("union-ss")]); !slices.Equal(f, []string{"online_during_full_time"}) {
		t.Errorf("self-study flags %v, want online_during_full_time", f)
	}
	// The snapshot is stored without explanations.
	snap := e.do(t, req{method: "GET", path: "/v1/cadres/" + cadre + "/quota-status", key: keyCQ})
	if strings.Contains(string(snap.body), `"explain"`) {
		t.Errorf("stored snapshot carries explanations: %s", snap.body)
	}
}

func recordIDOf(e *env, t *testing.T, cadre string, c map[string]any) string {
	return fmt.Sprint(e.records(t, cadre)[c["event_id"].(string)]["record_id"])
}

// A span of ten years, dates before the first policy or far in the future, and an as_of no
// window can hold are 400s naming the field; nothing is stored.
func testPlausibility(t *testing.T, e *env) {
	cadre := e.id("plausible")
	e.putCadre(t, keyCQ, cadre, unitCQ, townshipRk)
	tenYears := centralized(e.id("ten-years"), cadre, "2014-01-01", "2024-01-13", 100, 800, true)
	wantProblem(t, e.send(t, tenYears), http.StatusBadRequest, "end_date")
	old := centralized(e.id("old"), cadre, "2022-03-01", "2022-03-05", 5, 40, true)
	wantProblem(t, e.send(t, old), http.StatusBadRequest, "end_date", "completed_at")
	future := centralized(e.id("future"), cadre, "2030-03-01", "2030-03-05", 5, 40, true)
	wantProblem(t, e.send(t, future), http.StatusBadRequest, "end_date", "completed_at")
	r := e.do(t, req{method: "POST", path: "/v1/cadres/" + cadre + "/self-study", key: keyCQ,
		header: map[string]string{"Idempotency-Key": e.id("old-ss")}, body: map[string]any{"hours": 2, "studied_on": "2020-06-03"}})
	wantProblem(t, r, http.StatusBadRequest, "studied_on")
	if recs := e.records(t, cadre); len(recs) != 0 {
		t.Errorf("archive %v, want nothing stored", recs)
	}
	for _, asOf := range []string{"9999-12-31", "9998-01-01"} {
		wantProblem(t, e.do(t, req{method: "GET", path: "/v1/cadres/" + cadre + "/quota-status?as_of=" + asOf, key: keyCQ}), http.StatusBadRequest, "as_of")
	}
	wantProblem(t, e.do(t, req{method: "GET", path: "/v1/cadres/" + cadre + "/quota-status?explain=yes", key: keyCQ}), http.StatusBadRequest, "explain")
	e.status(t, keyCQ, cadre, "9997-12-31")
}

// HR corrects the date of a promotion; the correction is kept with who and why and the status
// follows. PUT alone cannot move a date back (before: 200 and nothing changed).
func testRankCorrection(t *testing.T, e *env) {
	cadre := e.id("correct")
	e.putCadre(t, keyCQ, cadre, unitCQ, townshipRk)
	put := func(rank, eff string) response {
		return e.do(t, req{method: "PUT", path: "/v1/cadres/" + cadre, key: keyCQ, body: map[string]any{
			"name": "张三", "unit": unitCQ, "rank": rank, "rank_effective_on": eff}})
	}
	wantStatus(t, put("county_deputy", "2025-07-01"), http.StatusOK)
	wantProblem(t, put("county_deputy", "2024-07-01"), http.StatusBadRequest, "rank_effective_on")
	if st := e.status(t, keyCQ, cadre, "2024-12-31"); st["category"] != "township_and_below" {
		t.Fatalf("category as of 2024-12-31 %v before the correction", st["category"])
	}
	path := "/v1/cadres/" + cadre + "/corrections"
	wantProblem(t, e.do(t, req{method: "POST", path: path, key: keyCQ, body: map[string]any{
		"rank_history": []any{map[string]any{"rank": "county_deputy", "effective_on": "2024-07-01"}}}}), http.StatusBadRequest, "reason")
	wantProblem(t, e.do(t, req{method: "POST", path: path, key: keyCQ, body: map[string]any{"reason": "x",
		"rank_history": []any{map[string]any{"rank": "科长", "effective_on": "2024-07-01"}}}}), http.StatusBadRequest, "rank_history[0].rank")
	r := e.do(t, req{method: "POST", path: path, key: keyCQ, body: map[string]any{
		"reason": "任职文件日期为2024年7月1日",
		"rank_history": []any{
			map[string]any{"rank": townshipRk, "effective_on": "2023-01-01"},
			map[string]any{"rank": "县处级副职", "effective_on": "2024-07-01"},
		}}})
	wantStatus(t, r, http.StatusOK)
	c := r.json(t)
	cs, _ := c["corrections"].([]any)
	if len(cs) != 1 {
		t.Fatalf("corrections %v, want one", c["corrections"])
	}
	k, _ := cs[0].(map[string]any)
	if k["field"] != "rank_history" || !strings.HasPrefix(fmt.Sprint(k["by"]), "api-key:") || k["reason"] != "任职文件日期为2024年7月1日" {
		t.Errorf("correction %v", k)
	}
	if st := e.status(t, keyCQ, cadre, "2024-12-31"); st["category"] != "county_and_above" {
		t.Errorf("category as of 2024-12-31 %v after the correction, want county_and_above", st["category"])
	}
	// Putting the old rank back is a correction too.
	r = e.do(t, req{method: "POST", path: path, key: keyCQ, body: map[string]any{"reason": "晋升撤销",
		"rank_history": []any{map[string]any{"rank": townshipRk, "effective_on": "2023-01-01"}}}})
	wantStatus(t, r, http.StatusOK)
	if c := r.json(t); c["rank"] != townshipRk {
		t.Errorf("rank after undoing the promotion %v", c["rank"])
	}
}

// Leaving a leadership team keeps the requirement for the window of the term, pro-rated on the
// days in office; appointed a month before the window closes owes a month's share.
func testLeadershipTerms(t *testing.T, e *env) {
	cadre := e.id("terms")
	r := e.do(t, req{method: "PUT", path: "/v1/cadres/" + cadre, key: keyCQ, body: map[string]any{
		"name": "王五", "unit": unitCQ, "rank": "county_deputy", "rank_effective_on": "2023-01-01",
		"leadership_member": true, "leadership_effective_on": "2023-01-01"}})
	wantStatus(t, r, http.StatusCreated)
	r = e.do(t, req{method: "PUT", path: "/v1/cadres/" + cadre, key: keyCQ, body: map[string]any{
		"name": "王五", "unit": unitCQ, "rank": "county_deputy", "leadership_member": false, "leadership_effective_on": "2026-06-01"}})
	wantStatus(t, r, http.StatusOK)
	if c := r.json(t); c["leadership_member"] != false {
		t.Errorf("leadership_member %v after leaving", c["leadership_member"])
	}
	lead := requirement(t, e.status(t, keyCQ, cadre, "2027-12-31"), "leadership_party_school_5y")
	// 2023-01-01…2026-05-31 is 1247 of the 1826 days: ⌈60 × 1247 / 1826⌉ = 41.
	if measure(lead, "target", "days") != float64(41) {
		t.Errorf("leadership_party_school_5y %v, want a target of 41 days", lead)
	}
	r = e.do(t, req{method: "POST", path: "/v1/cadres/" + cadre + "/corrections", key: keyCQ, body: map[string]any{
		"reason": "任职时间更正", "leadership_history": []any{map[string]any{"appointed_on": "2027-12-01"}}}})
	wantStatus(t, r, http.StatusOK)
	lead = requirement(t, e.status(t, keyCQ, cadre, "2027-12-31"), "leadership_party_school_5y")
	if measure(lead, "target", "days") != float64(2) {
		t.Errorf("appointed 2027-12-01: %v, want a target of ⌈60 × 31 / 1826⌉ = 2 days", lead)
	}
	if st := e.status(t, keyCQ, cadre, "2027-11-30"); slices.ContainsFunc(st["requirements"].([]any), func(x any) bool {
		m, _ := x.(map[string]any)
		return m["id"] == "leadership_party_school_5y"
	}) {
		t.Errorf("leadership requirement before the appointment: %v", st)
	}
}
