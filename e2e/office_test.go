package e2e

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/xuri/excelize/v2"

	"github.com/cadre-training/cadretrain/shared/training"
)

const xlsxCT = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

func init() {
	// Exports and the certificate page are not JSON: the contract check reads them as strings.
	openapi3filter.RegisterBodyDecoder(xlsxCT, openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.FileBodyDecoder)
}

func (e *env) get(t *testing.T, key, path string, header ...string) response {
	t.Helper()
	h := map[string]string{}
	for i := 0; i+1 < len(header); i += 2 {
		h[header[i]] = header[i+1]
	}
	return e.do(t, req{method: "GET", path: path, key: key, header: h})
}

// csvRows checks the CSV export form (BOM, title row, header row) and returns the rows.
func csvRows(t *testing.T, r response, title string) [][]string {
	t.Helper()
	wantStatus(t, r, 200)
	if ct := r.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if !bytes.HasPrefix(r.body, []byte("\ufeff")) {
		t.Errorf("no UTF-8 BOM: %.20q", r.body)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.body, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v", err)
	}
	if len(rows) < 2 || rows[0][0] != title {
		t.Fatalf("title row %v, want %q", rows[0], title)
	}
	return rows
}

// xlsxRows checks the xlsx export (title in A1, headers in row 2) and returns the rows.
func xlsxRows(t *testing.T, r response, title string) [][]string {
	t.Helper()
	wantStatus(t, r, 200)
	if ct := r.header.Get("Content-Type"); ct != xlsxCT {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := r.header.Get("Content-Disposition"); !strings.Contains(cd, "filename*=UTF-8''"+url.PathEscape(title)) {
		t.Errorf("Content-Disposition %q", cd)
	}
	f, err := excelize.OpenReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("xlsx: %v", err)
	}
	defer f.Close()
	rows, err := f.GetRows(f.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 2 || rows[0][0] != title {
		t.Fatalf("xlsx title row %v, want %q", rows, title)
	}
	return rows
}

func summaries(t *testing.T, r response) ([]map[string]any, string) {
	t.Helper()
	wantStatus(t, r, 200)
	m := r.json(t)
	var out []map[string]any
	for _, c := range m["cadres"].([]any) {
		out = append(out, c.(map[string]any))
	}
	next, _ := m["next_cursor"].(string)
	return out, next
}

func ids(cs []map[string]any) string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprint(c["cadre_id"]))
	}
	return strings.Join(out, ",")
}

// testHROffice: docs/api.md “Lists”, “Unit report”, “Exports” and “Certificates” over HTTP.
func testHROffice(t *testing.T, e *env) {
	year := training.Today(time.Now()).Year
	unit := "cn/cq/o" + e.run
	a, b, lead := e.id("oa"), e.id("ob"), e.id("olead")
	put := func(id, u, rank string, leader bool) {
		r := e.do(t, req{method: "PUT", path: "/v1/cadres/" + id, key: keyCQ, body: map[string]any{
			"name": "干部" + id, "unit": u, "rank": rank, "rank_effective_on": "2023-01-01", "leadership_member": leader, "joined_on": "2019-07-01"}})
		wantStatus(t, r, http.StatusCreated)
	}
	put(a, unit, townshipRk, false)
	put(b, unit+"/a", townshipRk, false)
	put(lead, unit+"/a/b", "county_principal", true)
	ft := results(t, e.send(t, centralized(e.id("o-ft"), a, fmt.Sprintf("%d-03-02", year), fmt.Sprintf("%d-03-06", year), 5, 40, true)))[0]["record_id"]
	r := e.do(t, req{method: "POST", path: "/v1/cadres/" + b + "/self-study", key: keyCQ, header: map[string]string{"Idempotency-Key": e.id("o-ss")},
		body: map[string]any{"hours": 10.5, "studied_on": fmt.Sprintf("%d-02-01", year), "course_title": "网络课程"}})
	wantStatus(t, r, 201)
	list := "/v1/cadres?unit=" + url.QueryEscape(unit)
	eventually(t, "the list shows the recorded training", func() string {
		cs, _ := summaries(t, e.get(t, keyCQ, list))
		if len(cs) != 3 || cs[0]["trained"] != true || cs[1]["online_hours"] != 10.5 {
			return fmt.Sprint(cs)
		}
		return ""
	})

	t.Run("List", func(t *testing.T) {
		cs, next := summaries(t, e.get(t, keyCQ, list))
		if got, want := ids(cs), strings.Join([]string{a, b, lead}, ","); got != want || next != "" {
			t.Errorf("list = %s (next %q), want %s by unit then id", got, next, want)
		}
		if cs[0]["full_time_hours"] != 40.0 || cs[0]["unit"] != unit || cs[0]["year"] != float64(year) {
			t.Errorf("summary %v", cs[0])
		}
		// Pages of one: the same order, then no cursor.
		var paged []map[string]any
		cursor := ""
		for i := 0; i < 5; i++ {
			page, next := summaries(t, e.get(t, keyCQ, list+"&limit=1&cursor="+url.QueryEscape(cursor)))
			paged = append(paged, page...)
			if next == "" {
				break
			}
			cursor = next
		}
		if ids(paged) != ids(cs) {
			t.Errorf("paged %s, want %s", ids(paged), ids(cs))
		}
		cs, _ = summaries(t, e.get(t, keyCQ, list+"&requirement=leadership_party_school_5y"))
		if ids(cs) != lead {
			t.Errorf("requirement filter: %s, want %s", ids(cs), lead)
		}
		cs, _ = summaries(t, e.get(t, keyCQ, list+"&requirement=online_annual&state=met"))
		if len(cs) != 0 {
			t.Errorf("online met: %s, want none", ids(cs))
		}
		// Errors: each bad parameter named; a cursor of another list; a unit outside the key.
		wantProblem(t, e.get(t, keyCQ, list+"&state=done&limit=0&year=1999&requirement=nope"), 400, "state", "limit", "year", "requirement")
		_, next = summaries(t, e.get(t, keyCQ, list+"&limit=1"))
		wantProblem(t, e.get(t, keyCQ, list+"&state=at_risk&cursor="+url.QueryEscape(next)), 400, "cursor")
		wantProblem(t, e.get(t, keySC, list), 403)
		wantProblem(t, e.get(t, "", list), 401)
	})

	t.Run("Report", func(t *testing.T) {
		r := e.get(t, keyCQ, "/v1/reports/unit?unit="+url.QueryEscape(unit))
		wantStatus(t, r, 200)
		rep := r.json(t)
		tot := rep["totals"].(map[string]any)
		if tot["cadres"] != 3.0 || tot["trained"] != 1.0 || tot["participation_rate_percent"] != 33.33 ||
			tot["full_time_hours"] != 40.0 || tot["full_time_hours_per_cadre"] != 13.33 || tot["online_hours_per_cadre"] != 3.5 {
			t.Errorf("totals %v", tot)
		}
		cat := tot["by_category"].(map[string]any)
		if cat["township_and_below"] != 2.0 || cat["county_and_above"] != 1.0 {
			t.Errorf("by_category %v", cat)
		}
		ch := rep["children"].([]any)
		if len(ch) != 2 || ch[0].(map[string]any)["unit"] != unit || ch[0].(map[string]any)["cadres"] != 1.0 ||
			ch[1].(map[string]any)["unit"] != unit+"/a" || ch[1].(map[string]any)["cadres"] != 2.0 {
			t.Errorf("children %v", ch)
		}
		mk := tot["makeup"].(map[string]any)
		if mk["leader_no_party_school"] != 1.0 {
			t.Errorf("makeup %v", mk)
		}
		rows := csvRows(t, e.get(t, keyCQ, "/v1/reports/unit?format=csv&unit="+url.QueryEscape(unit)), fmt.Sprintf("干部教育培训学时统计表（%d年度）", year))
		if rows[1][0] != "单位" || rows[1][5] != "参训率（%）" || rows[len(rows)-1][0] != unit+" 合计" || rows[len(rows)-1][5] != "33.33" {
			t.Errorf("csv report %v", rows)
		}
		xl := xlsxRows(t, e.get(t, keyCQ, "/v1/reports/unit?unit="+url.QueryEscape(unit), "Accept", xlsxCT), fmt.Sprintf("干部教育培训学时统计表（%d年度）", year))
		if len(xl) != 5 || xl[1][1] != "干部人数" || xl[4][1] != "3" {
			t.Errorf("xlsx report %v", xl)
		}
		wantProblem(t, e.get(t, keyCQ, "/v1/reports/unit?unit=cn/sc"), 403)
		wantProblem(t, e.get(t, keyCQ, "/v1/reports/unit?format=pdf&year=20x6"), 400, "format", "year")
	})

	t.Run("Makeup", func(t *testing.T) {
		cs, _ := summaries(t, e.get(t, keyCQ, "/v1/reports/makeup?unit="+url.QueryEscape(unit)))
		var leader map[string]any
		for _, c := range cs {
			if c["cadre_id"] == lead {
				leader = c
			}
		}
		if leader == nil || !strings.Contains(fmt.Sprint(leader["makeup"]), "leader_no_party_school") {
			t.Errorf("补训 list %s lacks the leader without party-school training", ids(cs))
		}
		rows := csvRows(t, e.get(t, keyCQ, "/v1/reports/makeup?format=csv&unit="+url.QueryEscape(unit)), fmt.Sprintf("补训名单（%d年度）", year))
		if len(rows) != 2+len(cs) || rows[1][6] != "补训原因" {
			t.Errorf("csv 补训名单 %v", rows)
		}
	})

	t.Run("Exports", func(t *testing.T) {
		rows := csvRows(t, e.get(t, keyCQ, list, "Accept", "text/csv"), fmt.Sprintf("干部教育培训情况名单（%d年度）", year))
		if len(rows) != 5 || rows[2][1] != a || rows[2][2] != "干部"+a {
			t.Errorf("csv list %v", rows)
		}
		rows = csvRows(t, e.get(t, keyCQ, "/v1/cadres/"+a+"/records?format=csv"), "干部教育培训档案（干部"+a+"）")
		if len(rows) != 3 || rows[2][2] != "集中培训" || rows[2][10] != "40" {
			t.Errorf("csv archive %v", rows)
		}
		xl := xlsxRows(t, e.get(t, keyCQ, fmt.Sprintf("/v1/cadres/%s/appraisal-records?year=%d&format=xlsx", a, year)),
			fmt.Sprintf("年度考核登记表·脱产培训情况（干部%s，%d年度）", a, year))
		if len(xl) != 3 || !strings.Contains(xl[2][7], "中央党校") {
			t.Errorf("xlsx appraisal entries %v", xl)
		}
		xlsxRows(t, e.get(t, keyCQ, "/v1/cadres/"+a+"/appointment-records?format=xlsx"), "干部任免审批表·培训经历（干部"+a+"）")
		wantProblem(t, e.get(t, keyCQ, "/v1/cadres/"+a+"/records?format=doc"), 400, "format")
	})

	t.Run("Certificate", func(t *testing.T) {
		r := e.get(t, keyCQ, "/v1/cadres/"+a+"/certificate")
		wantStatus(t, r, 200)
		cert := r.json(t)
		code, _ := cert["code"].(string)
		tot := cert["totals"].(map[string]any)
		if code == "" || tot["full_time_hours"] != 40.0 || len(cert["trainings"].([]any)) != 1 {
			t.Fatalf("certificate %s", r.body)
		}
		page := e.get(t, keyCQ, "/v1/cadres/"+a+"/certificate?format=html")
		wantStatus(t, page, 200)
		if !strings.Contains(string(page.body), "干部教育培训学时证明") || !strings.Contains(string(page.body), code) {
			t.Errorf("page %.300s", page.body)
		}
		v := e.get(t, "", "/v1/certificates/"+code)
		wantStatus(t, v, 200)
		if got := v.json(t)["status"]; got != "valid" {
			t.Errorf("verification %s", v.body)
		}
		wantProblem(t, e.get(t, "", "/v1/certificates/"+strings.Replace(code, ".", ".1", 1)), 404)
		wantProblem(t, e.get(t, "", "/v1/certificates/forged"), 404)
		wantProblem(t, e.get(t, keySC, "/v1/cadres/"+a+"/certificate"), 404)
		wantProblem(t, e.get(t, keyCQ, "/v1/cadres/"+a+"/certificate?year=2099"), 400, "year")
		// Voiding the training changes the certificate's content: the code no longer verifies as valid.
		wantStatus(t, e.do(t, req{method: "POST", path: fmt.Sprintf("/v1/records/%v/void", ft), key: keyCQ, body: map[string]any{"reason": "误报"}}), 200)
		v = e.get(t, "", "/v1/certificates/"+code)
		wantStatus(t, v, 200)
		if got := v.json(t)["status"]; got != "changed" {
			t.Errorf("after a void: %s", v.body)
		}
		// And the rollups follow the void.
		eventually(t, "the report follows the void", func() string {
			rep := e.get(t, keyCQ, "/v1/reports/unit?unit="+url.QueryEscape(unit)).json(t)
			if tr := rep["totals"].(map[string]any)["trained"]; tr != 0.0 {
				return fmt.Sprint("trained ", tr)
			}
			return ""
		})
	})
}
