package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/cadre-training/cadretrain/shared/server"
)

// shortRetries replaces Svix's schedule (0, 5 s, 5 min, … over 27 h) by one of the same shape in
// milliseconds, so retries and exhaustion happen within the test.
var shortRetries = []time.Duration{0, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond}

func withShortRetries(o *server.Options) {
	o.NoticeSchedule = shortRetries
	o.NoticePoll = 200 * time.Millisecond
}

// TestCallsAndNotices: 调训 from the notice to the absent flag and 调训率 (docs/rules.md “Calling
// cadres to training”; seed 000 三（一）, 四), and notices delivered, retried and replayed
// (docs/api.md “Notices”), on both stores.
func TestCallsAndNotices(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *env) {
		rc := newReceiver(t)
		t.Run("ClassFromNoticeToAbsence", func(t *testing.T) { testClassLifecycle(t, e, rc) })
		t.Run("ClassValidation", func(t *testing.T) { testClassValidation(t, e) })
		t.Run("DeliveryRetryAndReplay", func(t *testing.T) { testDeliveryRetryReplay(t, e, rc) })
		t.Run("RequirementNotice", func(t *testing.T) { testRequirementNotice(t, e, rc) })
	}, withShortRetries)
}

// subscribe creates a subscription to events of unit, delivered to the receiver's path, and
// registers its secret with the receiver.
func (e *env) subscribe(t *testing.T, rc *receiver, id, path, unit string, events ...string) map[string]any {
	t.Helper()
	r := e.do(t, req{method: "PUT", path: "/v1/subscriptions/" + id, key: keyAdmin, body: map[string]any{
		"url": rc.url(path), "events": events, "unit": unit, "description": "e2e",
	}})
	wantStatus(t, r, http.StatusCreated)
	sub := r.json(t)
	secret, _ := sub["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("subscription without a whsec_ secret: %s", r.body)
	}
	hint := "whsec_…" + secret[len(secret)-4:]
	if sub["secret_hint"] != hint {
		t.Fatalf("secret_hint %v, want %s", sub["secret_hint"], hint)
	}
	// The secret is shown once, in the answer that created it (docs/api.md “Notices”): the same
	// subscription again is a no-op 200, and a GET and the list show only the hint.
	again := e.do(t, req{method: "PUT", path: "/v1/subscriptions/" + id, key: keyAdmin, body: map[string]any{
		"url": rc.url(path), "events": events, "unit": unit, "description": "e2e",
	}})
	wantStatus(t, again, http.StatusOK)
	got := e.do(t, req{method: "GET", path: "/v1/subscriptions/" + id, key: keyAdmin})
	wantStatus(t, got, http.StatusOK)
	list := e.do(t, req{method: "GET", path: "/v1/subscriptions", key: keyAdmin})
	wantStatus(t, list, http.StatusOK)
	listed := map[string]any{}
	for _, s := range list.json(t)["subscriptions"].([]any) {
		if s.(map[string]any)["subscription_id"] == id {
			listed = s.(map[string]any)
		}
	}
	for what, m := range map[string]map[string]any{"PUT again": again.json(t), "GET": got.json(t), "list": listed} {
		if _, shown := m["secret"]; shown || m["secret_hint"] != hint {
			t.Fatalf("%s: secret %v, secret_hint %v; want no secret and the hint %s", what, m["secret"], m["secret_hint"], hint)
		}
	}
	for _, r := range []response{again, got, list} {
		if strings.Contains(string(r.body), secret) {
			t.Fatalf("the secret was read back: %s", r.body)
		}
	}
	// A rotation (a PUT sending a new secret) shows the new one in its answer, and deliveries are
	// signed with it from then on.
	rotated := "whsec_" + base64.StdEncoding.EncodeToString([]byte(e.id("rotated-secret-of-32-bytes")))
	r = e.do(t, req{method: "PUT", path: "/v1/subscriptions/" + id, key: keyAdmin, body: map[string]any{
		"url": rc.url(path), "events": events, "unit": unit, "description": "e2e", "secret": rotated,
	}})
	wantStatus(t, r, http.StatusOK)
	if m := r.json(t); m["secret"] != rotated || m["secret_hint"] != "whsec_…"+rotated[len(rotated)-4:] {
		t.Fatalf("rotation answered secret %v, secret_hint %v", m["secret"], m["secret_hint"])
	}
	rc.setSecret(path, rotated)
	sub["secret"] = rotated
	return sub
}

func (e *env) class(t *testing.T, courseID string) map[string]any {
	t.Helper()
	r := e.do(t, req{method: "GET", path: "/v1/classes/" + courseID, key: keyCQ})
	wantStatus(t, r, http.StatusOK)
	return r.json(t)
}

func callStates(class map[string]any) map[string]string {
	out := map[string]string{}
	calls, _ := class["calls"].([]any)
	for _, c := range calls {
		m, _ := c.(map[string]any)
		out[m["cadre_id"].(string)], _ = m["state"].(string)
	}
	return out
}

func counts(m map[string]any) string {
	return fmt.Sprintf("called=%v attended=%v on_leave=%v absent=%v rate=%v", m["called"], m["attended"], m["on_leave"], m["absent_without_reason"], m["attendance_rate"])
}

func testClassLifecycle(t *testing.T, e *env, rc *receiver) {
	base := "cn/cq/" + e.id("calls")
	unitA, unitB := base+"/a", base+"/b"
	a, b, c, d := e.id("call-a"), e.id("call-b"), e.id("call-c"), e.id("call-d")
	e.putCadre(t, keyCQ, a, unitA, townshipRk)
	e.putCadre(t, keyCQ, b, unitA, townshipRk)
	e.putCadre(t, keyCQ, c, unitB, townshipRk)
	e.putCadre(t, keyCQ, d, unitB, "四级调研员") // county level: not of call_category
	path := "/calls-" + e.kind
	e.subscribe(t, rc, e.id("sub-calls"), path, base, "class.call_notice", "class.absent_without_reason")

	course := e.id("cls")
	class := map[string]any{
		"title": "全市信访干部专题培训班", "institution": "中共重庆市委党校（重庆行政学院）", "institution_type": "party_school",
		"unit": base, "start_date": "2026-03-02", "end_date": "2026-03-06", "full_time": true, "planned_hours": 40,
		"cadre_ids": []string{a, b}, "call_unit": unitB, "call_category": "township_and_below",
	}
	r := e.do(t, req{method: "PUT", path: "/v1/classes/" + course, key: keyCQ, body: class})
	wantStatus(t, r, http.StatusCreated)
	if m := r.json(t); m["status"] != "draft" || m["planned_hours"] != 40.0 {
		t.Fatalf("draft %s", r.body)
	}
	wantStatus(t, e.do(t, req{method: "PUT", path: "/v1/classes/" + course, key: keyCQ, body: class}), http.StatusOK)
	// Another organisation department does not see it.
	wantProblem(t, e.do(t, req{method: "GET", path: "/v1/classes/" + course, key: keySC}), http.StatusNotFound)
	// Leave before filing: nobody is called yet.
	wantProblem(t, e.do(t, req{method: "POST", path: "/v1/classes/" + course + "/leave", key: keyCQ,
		body: map[string]any{"cadre_id": b, "reason": "因公出差"}}), http.StatusConflict)

	r = e.do(t, req{method: "POST", path: "/v1/classes/" + course + "/file", key: keyCQ})
	wantStatus(t, r, http.StatusOK)
	filed := r.json(t)
	if filed["status"] != "filed" {
		t.Fatalf("filed %s", r.body)
	}
	states := callStates(filed)
	if len(states) != 3 || states[d] != "" {
		t.Fatalf("called %v, want %s, %s (listed) and %s (township of %s), not %s (county level)", states, a, b, c, unitB, d)
	}
	// Filed: the class no longer changes; filing again is a no-op.
	class["planned_hours"] = 48
	wantProblem(t, e.do(t, req{method: "PUT", path: "/v1/classes/" + course, key: keyCQ, body: class}), http.StatusConflict)
	wantStatus(t, e.do(t, req{method: "POST", path: "/v1/classes/" + course + "/file", key: keyCQ}), http.StatusOK)

	// Each called cadre's 调训通知 reaches the subscriber, once.
	eventually(t, "three call notices", func() string {
		got := map[string]int{}
		for _, n := range rc.ofType(path, "class.call_notice") {
			got[n.Data["cadre_id"].(string)]++
			if n.Data["course_id"] != course || n.Data["title"] != "全市信访干部专题培训班" {
				return fmt.Sprintf("notice data %v", n.Data)
			}
		}
		if len(got) != 3 || got[a] != 1 || got[b] != 1 || got[c] != 1 {
			return fmt.Sprint(got)
		}
		return ""
	})

	// a attends: a completion with the class's course_id; b has approved leave; c does neither.
	comp := centralized(e.id("call-evt"), a, "2026-03-02", "2026-03-06", 5, 40, true)
	comp["course_id"] = course
	if res := results(t, e.send(t, map[string]any{"completions": []any{comp}})); res[0]["status"] != "created" {
		t.Fatalf("completion %v", res)
	}
	wantProblem(t, e.do(t, req{method: "POST", path: "/v1/classes/" + course + "/leave", key: keyCQ,
		body: map[string]any{"cadre_id": d, "reason": "因公出差"}}), http.StatusBadRequest, "cadre_id")
	wantProblem(t, e.do(t, req{method: "POST", path: "/v1/classes/" + course + "/leave", key: keyCQ,
		body: map[string]any{"cadre_id": b, "reason": " "}}), http.StatusBadRequest, "reason")
	wantStatus(t, e.do(t, req{method: "POST", path: "/v1/classes/" + course + "/leave", key: keyCQ,
		body: map[string]any{"cadre_id": b, "reason": "经批准因公出差（请假）"}}), http.StatusOK)
	eventually(t, "attendance from the completion", func() string {
		st := callStates(e.class(t, course))
		if st[a] != "attended" || st[b] != "on_leave" || st[c] != "absent_without_reason" {
			return fmt.Sprint(st)
		}
		return ""
	})

	// The archive shows the call and its state.
	r = e.do(t, req{method: "GET", path: "/v1/cadres/" + c + "/calls", key: keyCQ})
	wantStatus(t, r, http.StatusOK)
	calls, _ := r.json(t)["calls"].([]any)
	if len(calls) != 1 || calls[0].(map[string]any)["state"] != "absent_without_reason" || calls[0].(map[string]any)["course_id"] != course {
		t.Fatalf("archive calls of %s: %s", c, r.body)
	}

	// 调训率 per unit: attended ÷ called.
	r = e.do(t, req{method: "GET", path: "/v1/reports/calls?unit=" + base, key: keyCQ})
	wantStatus(t, r, http.StatusOK)
	rep := r.json(t)
	if got := counts(rep["total"].(map[string]any)); got != "called=3 attended=1 on_leave=1 absent=1 rate=0.3333" {
		t.Errorf("total %s", got)
	}
	byUnit := map[string]string{}
	for _, u := range rep["by_unit"].([]any) {
		m := u.(map[string]any)
		byUnit[m["unit"].(string)] = counts(m)
	}
	if byUnit[unitA] != "called=2 attended=1 on_leave=1 absent=0 rate=0.5" || byUnit[unitB] != "called=1 attended=0 on_leave=0 absent=1 rate=0" {
		t.Errorf("by unit %v", byUnit)
	}
	wantProblem(t, e.do(t, req{method: "GET", path: "/v1/reports/calls?unit=cn/sc", key: keyCQ}), http.StatusForbidden)
	wantProblem(t, e.do(t, req{method: "GET", path: "/v1/reports/calls", key: keyCQ}), http.StatusBadRequest, "unit")

	// The daily schedule's work (an operator's full recompute runs the same) announces the
	// absence without reason: c only, once.
	wantStatus(t, e.do(t, req{method: "POST", path: "/v1/recompute", key: keyAdmin, body: map[string]any{"all": true}}), http.StatusAccepted)
	eventually(t, "the absence notice", func() string {
		ns := rc.ofType(path, "class.absent_without_reason")
		if len(ns) != 1 || ns[0].Data["cadre_id"] != c || ns[0].Data["state"] != "absent_without_reason" {
			return fmt.Sprint(ns)
		}
		return ""
	})

	// The weekly digest of the unit, as JSON and as an xlsx download.
	r = e.do(t, req{method: "GET", path: "/v1/reports/digest?unit=" + base, key: keyCQ})
	wantStatus(t, r, http.StatusOK)
	dg := r.json(t)
	if dg["cadres"] != 4.0 || counts(dg["calls"].(map[string]any)) != "called=3 attended=1 on_leave=1 absent=1 rate=0.3333" {
		t.Errorf("digest %s", r.body)
	}
	r = e.do(t, req{method: "GET", path: "/v1/reports/digest?unit=" + base + "&format=xlsx", key: keyCQ})
	wantStatus(t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Errorf("xlsx Content-Type %q", ct)
	}
	x, err := excelize.OpenReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("the xlsx does not open: %v", err)
	}
	defer x.Close()
	if got := x.GetSheetList(); !slices.Equal(got, []string{"通报", "风险干部", "调训率"}) {
		t.Errorf("sheets %v", got)
	}
	rows, _ := x.GetRows("调训率")
	found := false
	for _, row := range rows {
		if len(row) >= 7 && row[0] == unitA && row[1] == "2" && row[2] == "1" && row[6] == "0.5" {
			found = true
		}
	}
	if !found {
		t.Errorf("调训率 sheet has no row for %s with 2 called, 1 attended, rate 0.5: %v", unitA, rows)
	}
	wantProblem(t, e.do(t, req{method: "GET", path: "/v1/reports/digest?unit=" + base + "&format=pdf", key: keyCQ}), http.StatusBadRequest, "format")
}

func testClassValidation(t *testing.T, e *env) {
	course := e.id("cls-bad")
	r := e.do(t, req{method: "PUT", path: "/v1/classes/" + course, key: keyCQ, body: map[string]any{
		"title": "", "unit": "cn/cq", "start_date": "2026-05-10", "end_date": "2026-05-01", "planned_hours": 0.001,
		"cadre_ids": []any{"x y", 3}, "call_category": "nobody", "color": "red",
	}})
	wantProblem(t, r, http.StatusBadRequest, "title", "end_date", "planned_hours", "cadre_ids[0]", "cadre_ids[1]", "call_category", "color")
	wantProblem(t, e.do(t, req{method: "GET", path: "/v1/classes/" + course, key: keyCQ}), http.StatusNotFound)
	// A listed cadre that is not in the key's units, and a unit outside them.
	r = e.do(t, req{method: "PUT", path: "/v1/classes/" + course, key: keyCQ, body: map[string]any{
		"title": "班", "unit": "cn/cq", "start_date": "2026-05-01", "end_date": "2026-05-10", "planned_hours": 24,
		"cadre_ids": []string{e.id("nobody")},
	}})
	wantProblem(t, r, http.StatusBadRequest, "cadre_ids[0]")
	r = e.do(t, req{method: "PUT", path: "/v1/classes/" + course, key: keyCQ, body: map[string]any{
		"title": "班", "unit": "cn/sc", "start_date": "2026-05-01", "end_date": "2026-05-10", "planned_hours": 24, "call_unit": "cn/sc",
	}})
	wantProblem(t, r, http.StatusForbidden)
	// Free text is checked as everywhere else (training.CheckTextField): a bidi override in a
	// class title or institution, a control character in a subscription's description were stored
	// before (docs/decisions.md “Hardening”).
	r = e.do(t, req{method: "PUT", path: "/v1/classes/" + course, key: keyCQ, body: map[string]any{
		"title": "\u202e班", "institution": "党校\u0007", "unit": "cn/cq", "call_unit": "cn/cq", "start_date": "2026-05-01", "end_date": "2026-05-10", "planned_hours": 24,
	}})
	wantProblem(t, r, http.StatusBadRequest, "title", "institution")
	wantProblem(t, e.do(t, req{method: "PUT", path: "/v1/subscriptions/" + e.id("s"), key: keyAdmin, body: map[string]any{
		"url": "http://127.0.0.1:1/x", "events": []string{"digest.weekly"}, "description": "a\nb"}}), http.StatusBadRequest, "description")
	// A subscription's signing secret is held to the platforms' rule (training.CheckWebhookSecret):
	// whsec_ and the base64 of at least 32 bytes; 10 bytes were accepted before.
	wantProblem(t, e.do(t, req{method: "PUT", path: "/v1/subscriptions/" + e.id("s"), key: keyAdmin, body: map[string]any{
		"url": "http://127.0.0.1:1/x", "events": []string{"digest.weekly"}, "secret": "whsec_c2hvcnQtc2VjcmV0"}}), http.StatusBadRequest, "secret")
	// hr may not subscribe.
	wantProblem(t, e.do(t, req{method: "PUT", path: "/v1/subscriptions/" + e.id("s"), key: keyCQ, body: map[string]any{
		"url": "http://127.0.0.1:1/x", "events": []string{"digest.weekly"}}}), http.StatusForbidden)
	wantProblem(t, e.do(t, req{method: "PUT", path: "/v1/subscriptions/" + e.id("s"), key: keyAdmin, body: map[string]any{
		"url": "ftp://x", "events": []string{"digest.weekly", "nope"}}}), http.StatusBadRequest, "url", "events[1]")
}

// testDeliveryRetryAndReplay: a receiver that fails twice gets the notice on the third attempt
// (the schedule's retries), with the same webhook-id each time; a receiver that always fails
// exhausts the schedule (failed) and gets it on replay; the delivery log shows every attempt.
func testDeliveryRetryReplay(t *testing.T, e *env, rc *receiver) {
	base := "cn/cq/" + e.id("notices")
	cadre := e.id("n-1")
	flaky, down := "/flaky-"+e.kind, "/down-"+e.kind
	up := false
	rc.setAnswer(func(path string, n notice, seen int) int {
		switch {
		case path == flaky && seen < 2:
			return http.StatusInternalServerError
		case path == down && !up:
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	t.Cleanup(func() { rc.setAnswer(nil) })
	subFlaky, subDown := e.id("sub-flaky"), e.id("sub-down")
	e.subscribe(t, rc, subFlaky, flaky, base, "class.call_notice")
	e.subscribe(t, rc, subDown, down, base, "class.call_notice")
	e.putCadre(t, keyCQ, cadre, base+"/x", townshipRk)
	course := e.id("cls-n")
	wantStatus(t, e.do(t, req{method: "PUT", path: "/v1/classes/" + course, key: keyCQ, body: map[string]any{
		"title": "班", "unit": base, "start_date": "2027-01-04", "end_date": "2027-01-08", "planned_hours": 40, "cadre_ids": []string{cadre},
	}}), http.StatusCreated)
	wantStatus(t, e.do(t, req{method: "POST", path: "/v1/classes/" + course + "/file", key: keyCQ}), http.StatusOK)

	deliveries := func(sub string) []map[string]any {
		r := e.do(t, req{method: "GET", path: "/v1/subscriptions/" + sub + "/deliveries", key: keyAdmin})
		wantStatus(t, r, http.StatusOK)
		var out []map[string]any
		for _, d := range r.json(t)["deliveries"].([]any) {
			out = append(out, d.(map[string]any))
		}
		return out
	}
	attemptCodes := func(d map[string]any) []string {
		var out []string
		for _, a := range d["attempts"].([]any) {
			m := a.(map[string]any)
			out = append(out, fmt.Sprintf("%v/%v", m["status_code"], m["trigger"]))
		}
		return out
	}
	eventually(t, "delivery after two failures", func() string {
		ds := deliveries(subFlaky)
		if len(ds) != 1 || ds[0]["status"] != "delivered" {
			return fmt.Sprint(ds)
		}
		if got := strings.Join(attemptCodes(ds[0]), " "); got != "500/schedule 500/schedule 200/schedule" {
			return "attempts " + got
		}
		return ""
	})
	ns := rc.notices(flaky)
	if len(ns) != 3 || ns[0].ID != ns[1].ID || ns[1].ID != ns[2].ID {
		t.Fatalf("the flaky receiver got %v, want three POSTs of one webhook-id", ns)
	}
	eventually(t, "failure after the whole schedule", func() string {
		ds := deliveries(subDown)
		if len(ds) != 1 || ds[0]["status"] != "failed" || len(ds[0]["attempts"].([]any)) != len(shortRetries) {
			return fmt.Sprint(ds)
		}
		return ""
	})
	failedID := deliveries(subDown)[0]["delivery_id"].(string)

	// Replay the failed delivery once the receiver is up again; and replay the delivered one.
	rc.setAnswer(func(string, notice, int) int { return http.StatusOK })
	r := e.do(t, req{method: "POST", path: "/v1/subscriptions/" + subDown + "/deliveries/" + failedID + "/replay", key: keyAdmin})
	wantStatus(t, r, http.StatusAccepted)
	deliveredID := deliveries(subFlaky)[0]["delivery_id"].(string)
	wantStatus(t, e.do(t, req{method: "POST", path: "/v1/subscriptions/" + subFlaky + "/deliveries/" + deliveredID + "/replay", key: keyAdmin}), http.StatusAccepted)
	eventually(t, "replays delivered", func() string {
		d1, d2 := deliveries(subDown)[0], deliveries(subFlaky)[0]
		c1, c2 := attemptCodes(d1), attemptCodes(d2)
		if d1["status"] != "delivered" || c1[len(c1)-1] != "200/replay" || d2["status"] != "delivered" || len(c2) != 4 || c2[3] != "200/replay" {
			return fmt.Sprint(d1["status"], c1, d2["status"], c2)
		}
		return ""
	})
	if got := rc.notices(down); got[len(got)-1].ID != failedID || got[len(got)-1].Status != 200 {
		t.Errorf("the replay did not reach the receiver with webhook-id %s: %v", failedID, got)
	}
	wantProblem(t, e.do(t, req{method: "POST", path: "/v1/subscriptions/" + subDown + "/deliveries/msg_nope/replay", key: keyAdmin}), http.StatusNotFound)
	r = e.do(t, req{method: "GET", path: "/v1/subscriptions/" + subDown + "/deliveries/" + failedID, key: keyAdmin})
	wantStatus(t, r, http.StatusOK)
	if r.json(t)["delivery_id"] != failedID {
		t.Errorf("delivery %s", r.body)
	}
}

// testRequirementNotice: a cadre whose online study is behind pace (docs/rules.md §3 at_risk)
// turns at_risk on its first status, and the subscriber of the unit is told, once.
func testRequirementNotice(t *testing.T, e *env, rc *receiver) {
	base := "cn/cq/" + e.id("risk")
	path := "/risk-" + e.kind
	e.subscribe(t, rc, e.id("sub-risk"), path, base, "requirement.at_risk", "requirement.unmet")
	cadre := e.id("risk-1")
	e.putCadre(t, keyCQ, cadre, base, townshipRk)
	r := e.do(t, req{method: "GET", path: "/v1/cadres/" + cadre + "/quota-status", key: keyCQ})
	wantStatus(t, r, http.StatusOK)
	var want []string
	for _, q := range r.json(t)["requirements"].([]any) {
		m := q.(map[string]any)
		if s := m["state"]; s == "at_risk" || s == "unmet" {
			want = append(want, fmt.Sprintf("requirement.%s/%s", s, m["id"]))
		}
	}
	if len(want) == 0 {
		t.Fatalf("no requirement at risk or unmet for a cadre without training: %s", r.body)
	}
	slices.Sort(want)
	eventually(t, "requirement notices", func() string {
		var got []string
		for _, n := range rc.notices(path) {
			req, _ := n.Data["requirement"].(map[string]any)
			got = append(got, fmt.Sprintf("%s/%v", n.Type, req["id"]))
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			return fmt.Sprint(got, " want ", want)
		}
		return ""
	})
}
