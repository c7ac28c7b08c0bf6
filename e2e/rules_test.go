package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestE2ERules shows the rules of docs/rules.md “Training on promotion”, “Initial training”,
// “Mid-year joiners and transfers”, “The leadership rule” and “Local crediting overlays” over HTTP.
func TestE2ERules(t *testing.T) {
	runOnBothStores(t, []testCase{
		{"Policies", testPolicies},
		{"PromotionTraining", testPromotionTraining},
		{"MidYearJoiner", testMidYearJoiner},
		{"CreditingOverlay", testCreditingOverlay},
		{"DaysWithoutHours", testDaysWithoutHours},
		{"CourseLength", testCourseLength},
		{"HalfDays", testHalfDays},
	})
}

func (e *env) status(t *testing.T, key, cadre, asOf string) map[string]any {
	t.Helper()
	r := e.do(t, req{method: "GET", path: "/v1/cadres/" + cadre + "/quota-status?as_of=" + asOf, key: key})
	wantStatus(t, r, http.StatusOK)
	return r.json(t)
}

func window(m map[string]any) string {
	w, _ := m["window"].(map[string]any)
	s, _ := w["start"].(string)
	end, _ := w["end"].(string)
	return s + "…" + end
}

// GET /v1/policies: the policy with every requirement and its source, and the shipped overlay.
func testPolicies(t *testing.T, e *env) {
	wantProblem(t, e.do(t, req{method: "GET", path: "/v1/policies"}), 401)
	r := e.do(t, req{method: "GET", path: "/v1/policies", key: keyCQ})
	wantStatus(t, r, 200)
	m := r.json(t)
	ps, _ := m["policies"].([]any)
	if len(ps) != 1 {
		t.Fatalf("policies %v, want one", ps)
	}
	p, _ := ps[0].(map[string]any)
	if p["id"] != "cadre-2023-2027" {
		t.Errorf("policy id %v", p["id"])
	}
	sources := map[string]string{}
	reqs, _ := p["requirements"].([]any)
	for _, x := range reqs {
		rq, _ := x.(map[string]any)
		id, _ := rq["id"].(string)
		sources[id], _ = rq["source"].(string)
	}
	for _, id := range []string{"centralized_5y", "centralized_annual", "online_annual", "leadership_party_school_5y", "promotion_training", "initial_training"} {
		if sources[id] == "" {
			t.Errorf("requirement %s missing or without source: %v", id, sources)
		}
	}
	if s := sources["leadership_party_school_5y"]; !strings.Contains(s, "2018—2022") {
		t.Errorf("leadership rule source %q does not name the 2018–2022 plan", s)
	}
	ovs, _ := m["overlays"].([]any)
	found := false
	for _, x := range ovs {
		o, _ := x.(map[string]any)
		if o["id"] == "nanjing-credit-units" && o["unit"] == "cn/js/nanjing" && o["file"] == "cn-js-nanjing.json" && o["source"] != "" {
			found = true
		}
	}
	if !found {
		t.Errorf("overlays %v, want the shipped nanjing-credit-units", ovs)
	}
}

// 任职培训: promoted 2025-03-15 without the 5-year training → promotion_training with its own window,
// at risk after a quarter of the year, in overall; met once 90 days are done.
func testPromotionTraining(t *testing.T, e *env) {
	cadre := e.id("promoted")
	put := func(rank, on string, status int) {
		r := e.do(t, req{method: "PUT", path: "/v1/cadres/" + cadre, key: keyCQ, body: map[string]any{
			"name": "李四", "unit": unitCQ, "rank": rank, "rank_effective_on": on,
		}})
		wantStatus(t, r, status)
	}
	put("township_principal", "2019-01-01", http.StatusCreated)
	put("县处级副职", "2025-03-15", http.StatusOK)
	st := e.status(t, keyCQ, cadre, "2025-06-30")
	pt := requirement(t, st, "promotion_training")
	if pt["state"] != "at_risk" || window(pt) != "2025-03-15…2026-03-15" || pt["deadline"] != "2026-03-15" ||
		measure(pt, "target", "days") != float64(90) || measure(pt, "target", "hours") != float64(550) {
		t.Errorf("promotion_training %v, want at_risk in 2025-03-15…2026-03-15, 90 days or 550 学时", pt)
	}
	if tr, _ := pt["trigger"].(map[string]any); tr["event"] != "promotion" || tr["rank"] != "county_deputy" || tr["from_rank"] != "township_principal" {
		t.Errorf("trigger %v", pt["trigger"])
	}
	if st["overall"] != "at_risk" {
		t.Errorf("overall %v, want at_risk", st["overall"])
	}
	// The 5-year quota is pro-rated from the category change (2025-03-15: 33 whole months of 60).
	five := requirement(t, st, "centralized_5y")
	if pr, _ := five["prorated"].(map[string]any); pr["reason"] != "category_changed" || pr["months"] != float64(33) ||
		measure(five, "target", "days") != float64(50) || measure(five, "target", "hours") != float64(303) {
		t.Errorf("centralized_5y %v, want pro-rated 50 days / 303 学时 (33 of 60 months)", five)
	}
	results(t, e.send(t, centralized(e.id("promo-1"), cadre, "2025-09-01", "2025-11-29", 90, 480, true)))
	st = e.status(t, keyCQ, cadre, "2025-12-31")
	if pt := requirement(t, st, "promotion_training"); pt["state"] != "met" {
		t.Errorf("promotion_training %v, want met after 90 days", pt)
	}
	// After the deadline the requirement is no longer reported.
	for _, x := range e.status(t, keyCQ, cadre, "2026-03-16")["requirements"].([]any) {
		if m, _ := x.(map[string]any); m["id"] == "promotion_training" {
			t.Errorf("promotion_training still reported after its deadline: %v", m)
		}
	}
}

// A cadre who joined on 2025-11-01 owes 2 of 12 months of the annual quotas for 2025 (not the
// whole year, as before), and 初任培训 within the probation year.
func testMidYearJoiner(t *testing.T, e *env) {
	cadre := e.id("joiner")
	r := e.do(t, req{method: "PUT", path: "/v1/cadres/" + cadre, key: keyCQ, body: map[string]any{
		"name": "周七", "unit": unitCQ, "rank": "二级科员", "rank_effective_on": "2025-11-01", "joined_on": "2025-11-01",
	}})
	wantStatus(t, r, http.StatusCreated)
	results(t, e.send(t, centralized(e.id("join-1"), cadre, "2025-12-08", "2025-12-09", 2, 12, true)))
	st := e.status(t, keyCQ, cadre, "2025-12-31")
	ca := requirement(t, st, "centralized_annual")
	if ca["state"] != "met" || measure(ca, "target", "days") != float64(2) || measure(ca, "target", "hours") != float64(15) {
		t.Errorf("centralized_annual %v, want met against 2 days / 15 学时", ca)
	}
	if pr, _ := ca["prorated"].(map[string]any); pr["reason"] != "joined" || pr["from"] != "2025-11-01" || pr["months"] != float64(2) || pr["of_months"] != float64(12) {
		t.Errorf("prorated %v", ca["prorated"])
	}
	if on := requirement(t, st, "online_annual"); measure(on, "target", "hours") != float64(9) || on["state"] != "unmet" {
		t.Errorf("online_annual %v, want unmet against 9 学时 (50 × 2/12 rounded up)", on)
	}
	// explain=true shows the pro-rated figure next to the records that counted toward it.
	r = e.do(t, req{method: "GET", path: "/v1/cadres/" + cadre + "/quota-status?as_of=2025-12-31&explain=true", key: keyCQ})
	wantStatus(t, r, http.StatusOK)
	ex := requirement(t, r.json(t), "centralized_annual")
	counted, _ := ex["explain"].(map[string]any)["counted"].([]any)
	if pr, _ := ex["prorated"].(map[string]any); pr["months"] != float64(2) || measure(ex, "target", "days") != float64(2) || len(counted) != 1 {
		t.Errorf("explained centralized_annual %v, want the pro-rated 2-day target and the one counted record", ex)
	}
	it := requirement(t, st, "initial_training")
	if it["state"] != "on_track" || window(it) != "2025-11-01…2026-11-01" || measure(it, "target", "days") != float64(12) || measure(it, "achieved", "days") != float64(2) {
		t.Errorf("initial_training %v, want on_track, 2 of 12 days in 2025-11-01…2026-11-01", it)
	}
}

// The shipped Nanjing overlay: centralized training credited at 6 学时 a day whatever was sent.
func testCreditingOverlay(t *testing.T, e *env) {
	cadre := e.id("nanjing")
	r := e.do(t, req{method: "PUT", path: "/v1/cadres/" + cadre, key: keyAdmin, body: map[string]any{
		"name": "吴八", "unit": "cn/js/nanjing/xuanwu", "rank": townshipRk, "rank_effective_on": "2020-01-01",
	}})
	wantStatus(t, r, http.StatusCreated)
	results(t, e.send(t, centralized(e.id("nj-1"), cadre, "2025-05-06", "2025-05-10", 5, 40, true)))
	st := e.status(t, keyAdmin, cadre, "2025-12-31")
	if st["overlay"] != "nanjing-credit-units" {
		t.Errorf("overlay %v, want nanjing-credit-units", st["overlay"])
	}
	ca := requirement(t, st, "centralized_annual")
	cr, _ := ca["crediting"].(map[string]any)
	if measure(ca, "achieved", "hours") != float64(30) || cr["hours_as_sent"] != float64(40) || cr["hours_credited"] != float64(30) {
		t.Errorf("centralized_annual %v, want 30 学时 credited of 40 sent", ca)
	}
	// A cadre outside the overlay's subtree is credited as sent.
	other := e.id("cq-same")
	e.putCadre(t, keyCQ, other, unitCQ, townshipRk)
	results(t, e.send(t, centralized(e.id("cq-1"), other, "2025-05-06", "2025-05-10", 5, 40, true)))
	st = e.status(t, keyCQ, other, "2025-12-31")
	if _, ok := st["overlay"]; ok || measure(requirement(t, st, "centralized_annual"), "achieved", "hours") != float64(40) {
		t.Errorf("status %v, want no overlay and 40 学时", st)
	}
}

// A centralized completion may send days without 学时: its days count everywhere, and the Nanjing
// overlay converts them at 6 学时 a day; an explicit 0 学时 is still a 400 naming hours.
func testDaysWithoutHours(t *testing.T, e *env) {
	nj, cq := e.id("nj-nohours"), e.id("cq-nohours")
	wantStatus(t, e.do(t, req{method: "PUT", path: "/v1/cadres/" + nj, key: keyAdmin, body: map[string]any{
		"name": "郑九", "unit": "cn/js/nanjing", "rank": townshipRk, "rank_effective_on": "2020-01-01",
	}}), http.StatusCreated)
	e.putCadre(t, keyCQ, cq, unitCQ, townshipRk)
	for _, cadre := range []string{nj, cq} {
		c := centralized(e.id("nohours-"+cadre), cadre, "2025-05-06", "2025-05-09", 4, 0, true)
		delete(c, "hours")
		if res := results(t, e.send(t, c)); res[0]["status"] != "created" {
			t.Fatalf("completion without hours: %v", res)
		}
	}
	if ca := requirement(t, e.status(t, keyAdmin, nj, "2025-12-31"), "centralized_annual"); measure(ca, "achieved", "days") != float64(4) || measure(ca, "achieved", "hours") != float64(24) {
		t.Errorf("nanjing %v, want 4 days and 24 学时 (4 × 6)", ca)
	}
	if ca := requirement(t, e.status(t, keyCQ, cq, "2025-12-31"), "centralized_annual"); measure(ca, "achieved", "days") != float64(4) || measure(ca, "achieved", "hours") != float64(0) {
		t.Errorf("no overlay %v, want 4 days and 0 学时", ca)
	}
	zero := centralized(e.id("zero-hours"), cq, "2025-05-06", "2025-05-09", 4, 0, true)
	wantProblem(t, e.send(t, zero), 400, "hours")
	online := map[string]any{"event_id": e.id("online-nohours"), "cadre_id": cq, "kind": "online", "studied_on": "2025-05-06"}
	wantProblem(t, e.send(t, online), 400, "hours")
}

// The shipped Yunnan overlay credits online courses by their reported length: 45 minutes = 1 学时,
// 20 minutes = 0.5, 10 minutes = 0.25, whatever 学时 the platform sent; the archive keeps the length.
func testCourseLength(t *testing.T, e *env) {
	cadre := e.id("yunnan")
	wantStatus(t, e.do(t, req{method: "PUT", path: "/v1/cadres/" + cadre, key: keyAdmin, body: map[string]any{
		"name": "冯十", "unit": "cn/yn/kunming", "rank": townshipRk, "rank_effective_on": "2020-01-01",
	}}), http.StatusCreated)
	for i, c := range []struct {
		minutes int
		hours   float64
	}{{45, 0.75}, {20, 0.33}, {10, 0.17}} {
		res := results(t, e.send(t, map[string]any{"event_id": e.id(fmt.Sprintf("yn-%d", i)), "cadre_id": cadre, "kind": "online",
			"studied_on": "2025-03-02", "hours": c.hours, "duration_minutes": c.minutes}))
		if res[0]["status"] != "created" {
			t.Fatalf("online completion with duration_minutes: %v", res)
		}
	}
	st := e.status(t, keyAdmin, cadre, "2025-12-31")
	on := requirement(t, st, "online_annual")
	cr, _ := on["crediting"].(map[string]any)
	if st["overlay"] != "yunnan-online-course-length" || measure(on, "achieved", "hours") != 1.75 || cr["hours_as_sent"] != 1.25 {
		t.Errorf("status %v / online_annual %v, want 1.75 学时 credited (1 + 0.5 + 0.25) of 1.25 sent", st["overlay"], on)
	}
	r := e.do(t, req{method: "GET", path: "/v1/cadres/" + cadre + "/records", key: keyAdmin})
	wantStatus(t, r, 200)
	if !strings.Contains(string(r.body), `"duration_minutes":45`) {
		t.Errorf("archive does not keep duration_minutes: %s", r.body)
	}
	bad := map[string]any{"event_id": e.id("yn-bad"), "cadre_id": cadre, "kind": "centralized", "start_date": "2025-03-01",
		"end_date": "2025-03-02", "hours": 8, "duration_minutes": 45}
	wantProblem(t, e.send(t, bad), 400, "duration_minutes")
}

// docs/rules.md “Half days”: days in steps of 0.5. Under the Nanjing overlay (half_days,
// “每半天按3学分(学时)折算”) two half days on one day credit 1 day and a 2.5-day training 2.5 days
// (at 6 学时 a day: 3 + 3 + 15 学时); outside it each record's days are rounded down (0 + 0 + 2),
// and the explanation shows the rounded half. 0.25 or more days than the span are a 400 on days.
func testHalfDays(t *testing.T, e *env) {
	nj, cq := e.id("nj-half"), e.id("cq-half")
	wantStatus(t, e.do(t, req{method: "PUT", path: "/v1/cadres/" + nj, key: keyAdmin, body: map[string]any{
		"name": "钱十一", "unit": "cn/js/nanjing/gulou", "rank": townshipRk, "rank_effective_on": "2020-01-01",
	}}), http.StatusCreated)
	e.putCadre(t, keyCQ, cq, unitCQ, townshipRk)
	for _, cadre := range []string{nj, cq} {
		for i, c := range []map[string]any{
			centralized(cadre+"-am", cadre, "2025-05-06", "2025-05-06", 0, 0, false),
			centralized(cadre+"-pm", cadre, "2025-05-06", "2025-05-06", 0, 0, false),
			centralized(cadre+"-2.5", cadre, "2025-06-02", "2025-06-04", 0, 0, true),
		} {
			c["days"] = []float64{0.5, 0.5, 2.5}[i]
			delete(c, "hours")
			if res := results(t, e.send(t, c)); res[0]["status"] != "created" {
				t.Fatalf("half-day completion %v: %v", c, res)
			}
		}
	}
	for _, tc := range []struct {
		cadre, key  string
		days, hours float64
	}{{nj, keyAdmin, 3.5, 21}, {cq, keyCQ, 2, 0}} {
		ca := requirement(t, e.status(t, tc.key, tc.cadre, "2025-12-31"), "centralized_annual")
		if measure(ca, "achieved", "days") != tc.days || measure(ca, "achieved", "hours") != tc.hours {
			t.Errorf("%s: centralized_annual %v, want %v days and %v 学时", tc.cadre, ca, tc.days, tc.hours)
		}
	}
	r := e.do(t, req{method: "GET", path: "/v1/cadres/" + cq + "/quota-status?as_of=2025-12-31&explain=true", key: keyCQ})
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(string(r.body), `"days":2,`) || !strings.Contains(string(r.body), `"rounded_days":0.5`) {
		t.Errorf("explanation outside the overlay does not show 2 days credited and 0.5 rounded: %s", r.body)
	}
	r = e.do(t, req{method: "GET", path: "/v1/cadres/" + nj + "/records", key: keyAdmin})
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(string(r.body), `"days":2.5`) || !strings.Contains(string(r.body), `"days":0.5`) {
		t.Errorf("archive does not show the half days as sent: %s", r.body)
	}
	for _, days := range []float64{0.25, 2.25, 3.5} {
		bad := centralized(e.id(fmt.Sprintf("bad-%v", days)), cq, "2025-07-01", "2025-07-03", 0, 8, true)
		bad["days"] = days
		wantProblem(t, e.send(t, bad), 400, "days")
	}
}
