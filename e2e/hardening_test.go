package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// Hostile input is refused with a 400 problem naming the field, and nothing is written
// (docs/api.md “Errors”; docs/decisions.md “Hardening”). Each case was accepted before.
func TestHostileInput(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *env) {
		id := e.id("hostile")
		e.putCadre(t, keyCQ, id, unitCQ, townshipRk)

		bad := func(name string, rq req, field string) {
			t.Helper()
			t.Run(name, func(t *testing.T) {
				p := wantProblem(t, e.do(t, rq), http.StatusBadRequest)
				if !namesField(p, field) {
					t.Errorf("problem %v does not name %s", p, field)
				}
			})
		}
		selfStudy := func(body string) req {
			return req{method: "POST", path: "/v1/cadres/" + id + "/self-study", key: keyCQ, body: body,
				header: map[string]string{"Idempotency-Key": "hostile-" + body[:8]}}
		}
		// "hours":1.5,"hours":300 stored 300 before.
		bad("DuplicateKey", selfStudy(`{"hours": 1.5, "hours": 300, "studied_on": "2026-03-02"}`), "hours")
		// A duplicated unit moved a cadre.
		bad("DuplicateUnit", req{method: "PUT", path: "/v1/cadres/" + id, key: keyCQ,
			body: `{"name": "张三", "unit": "` + unitCQ + `", "rank": "` + townshipRk + `", "unit": "cn/cq/other"}`}, "unit")
		// Invalid UTF-8 was stored as U+FFFD.
		bad("InvalidUTF8", req{method: "PUT", path: "/v1/cadres/" + id, key: keyCQ,
			body: []byte("{\"name\": \"\xff\xfe\", \"unit\": \"" + unitCQ + "\", \"rank\": \"" + townshipRk + "\"}")}, "body")
		bad("ControlCharacterInName", req{method: "PUT", path: "/v1/cadres/" + id, key: keyCQ,
			body: map[string]any{"name": "张\u0007三", "unit": unitCQ, "rank": townshipRk}}, "name")
		bad("BidiOverrideInTitle", selfStudy(`{"hours": 1, "studied_on": "2026-03-02", "course_title": "\u202egnirts"}`), "course_title")
		bad("DotDotUnit", req{method: "PUT", path: "/v1/cadres/" + id, key: keyCQ,
			body: map[string]any{"name": "张三", "unit": "cn/cq/../sc", "rank": townshipRk}}, "unit")
		// One online record of 9,999,999,999,999.99 学时 was accepted (and 9,300 wrapped the sum).
		bad("UnboundedOnlineHours", selfStudy(`{"hours": 9999999999999.99, "studied_on": "2026-03-02"}`), "hours")
		bad("YearZero", selfStudy(`{"hours": 1, "studied_on": "0000-03-02"}`), "studied_on")
		bad("BadPercentEscapeInQuery", req{method: "GET", path: "/v1/cadres/" + id + "/quota-status?as_of=%zz", key: keyCQ}, "query")

		// Nothing was written: no record, the profile unchanged.
		r := e.do(t, req{method: "GET", path: "/v1/cadres/" + id + "/records", key: keyCQ})
		wantStatus(t, r, http.StatusOK)
		if recs, _ := r.json(t)["records"].([]any); len(recs) != 0 {
			t.Errorf("records after refused input: %v", recs)
		}
		r = e.do(t, req{method: "GET", path: "/v1/cadres/" + id, key: keyCQ})
		wantStatus(t, r, http.StatusOK)
		if p := r.json(t); p["unit"] != unitCQ || p["name"] != "张三" {
			t.Errorf("profile after refused input: %v", p)
		}

		// A PUT into a unit outside the key's units answers 403 whether or not the id exists
		// in another unit (before: 404 if it existed, 403 if not).
		for _, target := range []string{id, e.id("nobody")} {
			r := e.do(t, req{method: "PUT", path: "/v1/cadres/" + target, key: keySC,
				body: map[string]any{"name": "李四", "unit": unitCQ, "rank": townshipRk}})
			wantProblem(t, r, http.StatusForbidden)
		}
	})
}

func namesField(problem map[string]any, field string) bool {
	errs, _ := problem["errors"].([]any)
	for _, e := range errs {
		if m, _ := e.(map[string]any); m["field"] == field {
			return true
		}
	}
	return false
}

// TestArchivePages: the archive comes a page at a time (limit, cursor), in a stable order, every
// record exactly once, so an archive of any length costs one bounded page per request.
func TestArchivePages(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *env) {
		id := e.id("pages")
		e.putCadre(t, keyCQ, id, unitCQ, townshipRk)
		const n = 230
		for i := 0; i < n; i++ {
			r := e.do(t, req{method: "POST", path: "/v1/cadres/" + id + "/self-study", key: keyCQ,
				body:   map[string]any{"hours": 0.5, "studied_on": fmt.Sprintf("2025-%02d-%02d", 1+i%12, 1+i%28)},
				header: map[string]string{"Idempotency-Key": fmt.Sprintf("page-%03d", i)}})
			wantStatus(t, r, http.StatusCreated)
		}
		seen := map[string]bool{}
		cursor, pages := "", 0
		for {
			path := "/v1/cadres/" + id + "/records?limit=100"
			if cursor != "" {
				path += "&cursor=" + url.QueryEscape(cursor)
			}
			r := e.do(t, req{method: "GET", path: path, key: keyCQ})
			wantStatus(t, r, http.StatusOK)
			m := r.json(t)
			recs, _ := m["records"].([]any)
			if len(recs) > 100 {
				t.Fatalf("page of %d records, limit 100", len(recs))
			}
			for _, x := range recs {
				rid, _ := x.(map[string]any)["record_id"].(string)
				if seen[rid] {
					t.Fatalf("record %s on two pages", rid)
				}
				seen[rid] = true
			}
			pages++
			next, _ := m["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = next
		}
		if len(seen) != n || pages != 3 {
			t.Fatalf("%d records in %d pages, want %d in 3", len(seen), pages, n)
		}
		wantProblem(t, e.do(t, req{method: "GET", path: "/v1/cadres/" + id + "/records?limit=5000", key: keyCQ}), http.StatusBadRequest)
	})
}
