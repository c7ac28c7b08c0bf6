package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestE2EHROffice covers what an HR office and an operator use beyond the webhook: trainings
// entered by HR, Chinese for Chinese users, recompute job status and CORS — on both stores.
func TestE2EHROffice(t *testing.T) {
	runOnBothStores(t, []testCase{
		{"OpenAPIServed", testOpenAPIServed},
		{"HRTrainings", testHRTrainings},
		{"HRTrainingsValidation", testHRTrainingsValidation},
		{"RecomputeJobStatus", testRecomputeJobStatus},
		{"CORS", testCORS},
		{"Chinese", testChinese},
	})
}

func testOpenAPIServed(t *testing.T, e *env) {
	r := e.do(t, req{method: "GET", path: "/v1/openapi.json"})
	wantStatus(t, r, 200)
	if m := r.json(t); m["openapi"] != "3.1.0" {
		t.Errorf("openapi %v, want 3.1.0", m["openapi"])
	}
}

// Issue 9 item 6: HR enters a centralized full-time training of two months through
// POST /v1/cadres/{id}/trainings; it counts, and goes into both forms like a platform's
// completion (docs/rules.md “Forms”: every full-time training → the appraisal form of its end
// year; ≥ 2 calendar months → also the appointment form; source 干部教育培训工作条例 第三十七条).
func testHRTrainings(t *testing.T, e *env) {
	cadre := e.id("hr-train")
	e.putCadre(t, keyCQ, cadre, unitCQ, townshipRk)
	path := "/v1/cadres/" + cadre + "/trainings"
	body := map[string]any{
		"kind": "centralized", "full_time": true, "course_title": "中青年干部培训班",
		"institution": "中共重庆市委党校（重庆行政学院）", "institution_type": "party_school",
		"start_date": "2026-03-01", "end_date": "2026-04-30", "days": 61, "hours": 320, "assessment": "passed",
		"source": "hr-system",
	}
	idem := map[string]string{"Idempotency-Key": e.id("train-1")}
	r := e.do(t, req{method: "POST", path: path, key: keyCQ, body: body, header: idem})
	wantStatus(t, r, http.StatusCreated)
	first := r.json(t)
	if first["kind"] != "centralized" || first["full_time"] != true || first["days"] != 61.0 || first["hours"] != 320.0 || first["source"] != "hr-system" {
		t.Errorf("created %s", r.body)
	}
	// The same key and body again: the same record, 200.
	r = e.do(t, req{method: "POST", path: path, key: keyCQ, body: body, header: idem})
	wantStatus(t, r, http.StatusOK)
	if again := r.json(t); again["record_id"] != first["record_id"] {
		t.Errorf("replay record %v, want %v", again["record_id"], first["record_id"])
	}
	// The same key with another body: 409, on this route and on self-study (one namespace per API key).
	other := map[string]any{"kind": "centralized", "start_date": "2026-03-01", "end_date": "2026-03-02", "hours": 8}
	wantProblem(t, e.do(t, req{method: "POST", path: path, key: keyCQ, body: other, header: idem}), 409)
	wantProblem(t, e.do(t, req{method: "POST", path: "/v1/cadres/" + cadre + "/self-study", key: keyCQ, header: idem,
		body: map[string]any{"hours": 1, "studied_on": "2026-03-02"}}), 409)
	// Another HR key's namespace is its own, but the cadre is outside its units: 404.
	wantProblem(t, e.do(t, req{method: "POST", path: path, key: keySC, body: body, header: idem}), 404)
	wantProblem(t, e.do(t, req{method: "POST", path: path, body: body, header: idem}), 401)

	// Online study through the same route.
	r = e.do(t, req{method: "POST", path: path, key: keyCQ, header: map[string]string{"Idempotency-Key": e.id("train-online")},
		body: map[string]any{"kind": "online", "hours": 2.5, "studied_on": "2026-05-06", "course_title": "网课"}})
	wantStatus(t, r, http.StatusCreated)
	if m := r.json(t); m["kind"] != "online" || m["hours"] != 2.5 || m["source"] != "hr" {
		t.Errorf("online %s", r.body)
	}

	// Form entries, as for a platform's completion.
	eventually(t, "appointment entry of the HR-entered training", func() string {
		es := entries(t, e, "/v1/cadres/"+cadre+"/appointment-records")
		if len(es) == 1 && es[0]["record_id"] == first["record_id"] && es[0]["months"] == 2.0 {
			return ""
		}
		return fmt.Sprint(es)
	})
	eventually(t, "appraisal entry of 2026", func() string {
		es := entries(t, e, "/v1/cadres/"+cadre+"/appraisal-records?year=2026")
		if len(es) == 1 && es[0]["record_id"] == first["record_id"] {
			return ""
		}
		return fmt.Sprint(es)
	})
	// And it counts: 61 days ≥ 12 days of the township annual requirement.
	r = e.do(t, req{method: "GET", path: "/v1/cadres/" + cadre + "/quota-status?as_of=2026-12-31", key: keyCQ})
	wantStatus(t, r, 200)
	if req := requirement(t, r.json(t), "centralized_annual"); req["state"] != "met" {
		t.Errorf("centralized_annual %v, want met", req)
	}
}

// The webhook's validation applies to HR entries: every bad field named at once, nothing stored.
func testHRTrainingsValidation(t *testing.T, e *env) {
	cadre := e.id("hr-train-bad")
	e.putCadre(t, keyCQ, cadre, unitCQ, townshipRk)
	path := "/v1/cadres/" + cadre + "/trainings"
	for _, tc := range []struct {
		name   string
		body   any
		header map[string]string
		fields []string
	}{
		{"no key, no dates, bad hours, a webhook-only field", map[string]any{"kind": "centralized", "hours": 0.001, "event_id": "x"}, nil,
			[]string{"Idempotency-Key", "start_date", "end_date", "hours", "event_id"}},
		// docs/rules.md “Validation”: end_date before start_date; days longer than the span.
		{"end before start", map[string]any{"kind": "centralized", "start_date": "2026-03-05", "end_date": "2026-03-01", "hours": 8},
			map[string]string{"Idempotency-Key": e.id("bad-2")}, []string{"end_date"}},
		{"days over the span", map[string]any{"kind": "centralized", "start_date": "2026-03-01", "end_date": "2026-03-02", "days": 3, "hours": 8},
			map[string]string{"Idempotency-Key": e.id("bad-3")}, []string{"days"}},
		{"full_time on online", map[string]any{"kind": "online", "full_time": true, "hours": 1, "studied_on": "2026-03-01"},
			map[string]string{"Idempotency-Key": e.id("bad-4")}, []string{"full_time"}},
		{"unknown kind", map[string]any{"kind": "seminar", "hours": 1}, map[string]string{"Idempotency-Key": e.id("bad-5")}, []string{"kind"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantProblem(t, e.do(t, req{method: "POST", path: path, key: keyCQ, body: tc.body, header: tc.header}), 400, tc.fields...)
		})
	}
	r := e.do(t, req{method: "GET", path: "/v1/cadres/" + cadre + "/records", key: keyCQ})
	wantStatus(t, r, 200)
	if recs, _ := r.json(t)["records"].([]any); len(recs) != 0 {
		t.Errorf("records %s, want none stored", r.body)
	}
}

// Issue 9 item 8: a full recompute answers 202 with a job id whose state and progress
// GET /v1/recompute/{job_id} reports, from queued (or already running) to done with every cadre
// counted.
func testRecomputeJobStatus(t *testing.T, e *env) {
	for i := range 3 {
		e.putCadre(t, keyCQ, e.id(fmt.Sprintf("job-%d", i)), unitCQ, townshipRk)
	}
	r := e.do(t, req{method: "POST", path: "/v1/recompute", key: keyAdmin, body: map[string]any{"all": true}})
	wantStatus(t, r, http.StatusAccepted)
	id, _ := r.json(t)["job_id"].(string)
	path := "/v1/recompute/" + id
	r = e.do(t, req{method: "GET", path: path, key: keyAdmin})
	wantStatus(t, r, 200)
	if m := r.json(t); m["job_id"] != id || m["kind"] != "recompute" {
		t.Errorf("job %s", r.body)
	}
	var last map[string]any
	eventually(t, "job done", func() string {
		r := e.do(t, req{method: "GET", path: path, key: keyAdmin})
		wantStatus(t, r, 200)
		last = r.json(t)
		if last["state"] == "done" {
			return ""
		}
		return string(r.body)
	})
	total, done, failed := last["total"].(float64), last["done"].(float64), last["failed"].(float64)
	if total < 3 || done != total || failed != 0 {
		t.Errorf("finished job %v: want total ≥ 3 (the cadres created here), done = total, failed 0", last)
	}
	// Role admin only; an unknown id is 404.
	wantProblem(t, e.do(t, req{method: "GET", path: path, key: keyCQ}), 403)
	wantProblem(t, e.do(t, req{method: "GET", path: path}), 401)
	wantProblem(t, e.do(t, req{method: "GET", path: "/v1/recompute/job_0000000000000000", key: keyAdmin}), 404)
}

// Issue 9 item 8: a browser front end on a configured origin (config/demo.json cors_origins) may
// call the API: its preflight is answered and the responses name it; another origin gets neither.
func testCORS(t *testing.T, e *env) {
	const front = "http://localhost:5173"
	pre := func(origin string) response {
		return e.do(t, req{method: "OPTIONS", path: "/v1/cadres/x/trainings", header: map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"}})
	}
	r := pre(front)
	wantStatus(t, r, http.StatusNoContent)
	if r.header.Get("Access-Control-Allow-Origin") != front || !strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Idempotency-Key") {
		t.Errorf("preflight headers %v", r.header)
	}
	wantProblem(t, pre("https://evil.example.com"), http.StatusForbidden)

	r = e.do(t, req{method: "GET", path: "/v1/policies", key: keyCQ, header: map[string]string{"Origin": front}})
	wantStatus(t, r, 200)
	if r.header.Get("Access-Control-Allow-Origin") != front {
		t.Errorf("Access-Control-Allow-Origin %q, want %s", r.header.Get("Access-Control-Allow-Origin"), front)
	}
	r = e.do(t, req{method: "GET", path: "/v1/policies", key: keyCQ, header: map[string]string{"Origin": "https://evil.example.com"}})
	if got := r.header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("another origin got Access-Control-Allow-Origin %q", got)
	}
}

// Issue 9 item 7: Accept-Language zh-CN (or zh) gives Chinese problem titles, details, common
// field messages and labels beside the codes; an unknown rank lists the accepted Chinese titles;
// English stays the default.
func testChinese(t *testing.T, e *env) {
	zh := map[string]string{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
	id := e.id("zh")
	r := e.do(t, req{method: "PUT", path: "/v1/cadres/" + id, key: keyCQ, header: zh,
		body: map[string]any{"unit": unitCQ, "rank": "科长", "nickname": "x"}})
	p := wantProblem(t, r, 400, "name", "rank", "nickname")
	if p["title"] != "请求无效" || p["detail"] != "请求中有无效字段" || r.header.Get("Content-Language") != "zh-CN" {
		t.Errorf("problem in Chinese: title %v, detail %v, Content-Language %q", p["title"], p["detail"], r.header.Get("Content-Language"))
	}
	msgs := map[string]string{}
	for _, x := range p["errors"].([]any) {
		f := x.(map[string]any)
		msgs[f["field"].(string)] = f["message"].(string)
	}
	if msgs["name"] != "必填" || msgs["nickname"] != "不是可识别的字段" {
		t.Errorf("field messages %v", msgs)
	}
	for _, title := range []string{"未知职级", "一级主任科员", "四级调研员", "乡科级正职", "办事员"} {
		if !strings.Contains(msgs["rank"], title) {
			t.Errorf("rank message %q lacks %s", msgs["rank"], title)
		}
	}
	// Not found, in Chinese; the same in English without the header.
	p = wantProblem(t, e.do(t, req{method: "GET", path: "/v1/cadres/" + e.id("nobody-zh"), key: keyCQ, header: map[string]string{"Accept-Language": "zh"}}), 404)
	if p["title"] != "未找到" || !strings.Contains(p["detail"].(string), "未找到干部") {
		t.Errorf("404 in Chinese: %v", p)
	}
	p = wantProblem(t, e.do(t, req{method: "GET", path: "/v1/cadres/" + e.id("nobody-zh"), key: keyCQ}), 404)
	if p["title"] != "Not found" {
		t.Errorf("404 by default: %v", p)
	}

	// Labels beside the codes: a township cadre with nothing recorded is unmet at the year end.
	e.putCadre(t, keyCQ, id, unitCQ, townshipRk)
	r = e.do(t, req{method: "GET", path: "/v1/cadres/" + id + "/quota-status?as_of=2025-12-31", key: keyCQ, header: zh})
	wantStatus(t, r, 200)
	st := r.json(t)
	if st["overall"] != "unmet" || st["overall_label"] != "未达标" || st["category_label"] != "乡科级和一级主任科员及相当层次职级以下" {
		t.Errorf("status labels: overall %v %v, category %v", st["overall"], st["overall_label"], st["category_label"])
	}
	for id, want := range map[string]string{"centralized_annual": "每年集中培训", "online_annual": "每年网络自学"} {
		rq := requirement(t, st, id)
		if rq["label"] != want || rq["state"] != "unmet" || rq["state_label"] != "未达标" {
			t.Errorf("%s: label %v, state %v %v", id, rq["label"], rq["state"], rq["state_label"])
		}
	}
	r = e.do(t, req{method: "GET", path: "/v1/cadres/" + id + "/quota-status?as_of=2025-12-31", key: keyCQ})
	if st := r.json(t); st["overall_label"] != "unmet" || r.header.Get("Content-Language") != "en" {
		t.Errorf("English by default: overall_label %v, Content-Language %q", st["overall_label"], r.header.Get("Content-Language"))
	}
	r = e.do(t, req{method: "GET", path: "/v1/cadres/" + id, key: keyCQ, header: zh})
	if c := r.json(t); c["category_label"] != "乡科级和一级主任科员及相当层次职级以下" {
		t.Errorf("profile category_label %v", c["category_label"])
	}
	// The unit list labels its states too.
	zhStates := map[string]string{"met": "已达标", "on_track": "进度正常", "at_risk": "有未达标风险", "unmet": "未达标"}
	eventually(t, "the cadre in the unit list, labelled in Chinese", func() string {
		r := e.do(t, req{method: "GET", path: "/v1/cadres?unit=" + unitCQ + "&limit=100", key: keyCQ, header: zh})
		wantStatus(t, r, 200)
		cadres, _ := r.json(t)["cadres"].([]any)
		for _, x := range cadres {
			c := x.(map[string]any)
			if c["cadre_id"] != id {
				continue
			}
			reqs, _ := c["requirements"].([]any)
			if c["overall_label"] == zhStates[c["overall"].(string)] && len(reqs) > 0 &&
				reqs[0].(map[string]any)["state_label"] == zhStates[reqs[0].(map[string]any)["state"].(string)] {
				return ""
			}
			return fmt.Sprint(c)
		}
		return "not listed yet: " + string(r.body)
	})
}
