package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/sheet"
	"github.com/cadre-training/cadretrain/shared/training"
)

// queryLimit parses an optional limit (0 when absent).
func queryLimit(q url.Values, errs *training.Fields) int {
	s := q.Get("limit")
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		errs.Add("limit", "must be a whole number from 1 to %d, got %q", app.MaxListLimit, s)
		return 0
	}
	return n
}

// queryUnit is the unit subtree of a list or report: ?unit=, or the key's only unit.
func queryUnit(q url.Values, key *config.APIKey, errs *training.Fields) string {
	if _, ok := q["unit"]; ok {
		return strings.TrimSuffix(q.Get("unit"), "/")
	}
	if len(key.Units) == 1 {
		return key.Units[0]
	}
	errs.Add("unit", "is required: this API key covers several units (%s)", strings.Join(key.Units, ", "))
	return ""
}

// exportSheet answers an export, or nil to fall through to JSON.
func (a *API) exportSheet(c *call, format string, s *sheet.Sheet) (int, any, error) {
	if len(s.Rows) > MaxExportRows {
		return 0, nil, training.Errorf(training.ETOOLARGE, "the export has more than %d rows; narrow the unit or the filter", MaxExportRows)
	}
	if err := a.writeSheet(c.ctx(), c.w, format, s); err != nil {
		return 0, nil, err
	}
	return 0, nil, nil
}

// ListView is GET /v1/cadres.
type ListView struct {
	Cadres     []FactsView `json:"cadres"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

// FactsView is a cadre's status summary with labels beside its codes, in the caller's language.
type FactsView struct {
	training.Facts
	CategoryLabel string          `json:"category_label"`
	OverallLabel  string          `json:"overall_label"`
	Requirements  []FactStateView `json:"requirements"`
}

// FactStateView is one requirement's state, labelled.
type FactStateView struct {
	training.FactState
	Label      string `json:"label"`
	StateLabel string `json:"state_label"`
}

func factsViews(l lang, fs []training.Facts) []FactsView {
	out := make([]FactsView, len(fs))
	for i, f := range fs {
		f.ComputedAt = f.ComputedAt.In(training.CST)
		v := FactsView{Facts: f, CategoryLabel: label(l, f.Category), OverallLabel: label(l, string(f.Overall)),
			Requirements: make([]FactStateView, len(f.Requirements))}
		for j, r := range f.Requirements {
			v.Requirements[j] = FactStateView{FactState: r, Label: label(l, r.ID), StateLabel: label(l, string(r.State))}
		}
		out[i] = v
	}
	return out
}

// listCadres is GET /v1/cadres: the stored status summaries of a unit subtree, paged.
func (a *API) listCadres(c *call) (int, any, error) {
	var errs training.Fields
	q := c.r.URL.Query()
	format := exportFormat(c.r, &errs)
	lq := app.ListQuery{
		Unit: queryUnit(q, c.key, &errs), Year: queryYear(q, &errs), State: training.State(q.Get("state")),
		Requirement: q.Get("requirement"), Limit: queryLimit(q, &errs), Cursor: q.Get("cursor"),
	}
	if err := mergeFields(errs, a.d.Service.CheckList(c.key, &lq)).Err(); err != nil {
		return 0, nil, err
	}
	if format == formatJSON {
		page, err := a.d.Service.ListCadres(c.ctx(), c.key, lq)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, ListView{Cadres: factsViews(c.lang(), page.Items), NextCursor: page.NextCursor}, nil
	}
	all, err := a.allPages(func(cursor string) (app.ListPage, error) {
		lq.Cursor, lq.Limit = cursor, app.MaxListLimit
		return a.d.Service.ListCadres(c.ctx(), c.key, lq)
	}, lq.Cursor)
	if err != nil {
		return 0, nil, err
	}
	return a.exportSheet(c, format, a.cadreListSheet(lq.Year, all))
}

// allPages reads every page from cursor on, up to one row past MaxExportRows.
func (a *API) allPages(page func(cursor string) (app.ListPage, error), cursor string) ([]training.Facts, error) {
	var all []training.Facts
	for {
		p, err := page(cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, p.Items...)
		if p.NextCursor == "" || len(all) > MaxExportRows {
			return all, nil
		}
		cursor = p.NextCursor
	}
}

func (a *API) rankTitle(code string) string {
	now := time.Now
	if a.d.Service.Now != nil {
		now = a.d.Service.Now
	}
	if ri, ok := training.CurrentPolicy(now()).LookupRank(code); ok {
		return ri.Title
	}
	return code
}

// requirementOrder lists the requirement ids of the policies, in policy order.
func (a *API) requirementOrder() []string {
	var ids []string
	seen := map[string]bool{}
	for _, p := range a.d.Service.Policies().Policies {
		for _, r := range p.Requirements {
			if !seen[r.ID] {
				seen[r.ID] = true
				ids = append(ids, r.ID)
			}
		}
	}
	return ids
}

func makeupText(reasons []string) string {
	out := make([]string, len(reasons))
	for i, r := range reasons {
		out[i] = zh(r)
	}
	return strings.Join(out, "；")
}

func (a *API) cadreListSheet(year int, fs []training.Facts) *sheet.Sheet {
	reqs := a.requirementOrder()
	s := &sheet.Sheet{Title: fmt.Sprintf("干部教育培训情况名单（%d年度）", year),
		Headers: []string{"序号", "干部编号", "姓名", "单位", "职级", "类别", "总体状态"}}
	for _, id := range reqs {
		s.Headers = append(s.Headers, zh(id))
	}
	s.Headers = append(s.Headers, "是否参训", "集中培训学时", "脱产培训学时", "网络培训学时", "补训原因", "统计日期")
	for i, f := range fs {
		row := []any{i + 1, f.CadreID, f.Name, f.Unit, a.rankTitle(f.Rank), zh(f.Category), stateLabel(f.Overall)}
		for _, id := range reqs {
			st := f.RequirementState(id)
			if st == "" {
				row = append(row, "不适用")
			} else {
				row = append(row, stateLabel(st))
			}
		}
		row = append(row, f.Trained, f.CentralizedHours, f.FullTimeHours, f.OnlineHours, makeupText(f.Makeup), f.AsOf)
		s.Add(row...)
	}
	return s
}

// unitReport is GET /v1/reports/unit: the figures of a unit subtree for a year, from the rollups.
func (a *API) unitReport(c *call) (int, any, error) {
	var errs training.Fields
	q := c.r.URL.Query()
	format := exportFormat(c.r, &errs)
	unit, year := queryUnit(q, c.key, &errs), queryYear(q, &errs)
	if err := mergeFields(errs, a.d.Service.CheckReport(c.key, unit, &year)).Err(); err != nil {
		return 0, nil, err
	}
	rep, err := a.d.Service.Report(c.ctx(), c.key, unit, year)
	if err != nil {
		return 0, nil, err
	}
	if format == formatJSON {
		return http.StatusOK, rep, nil
	}
	return a.exportSheet(c, format, a.reportSheet(rep))
}

func (a *API) reportSheet(rep app.UnitReport) *sheet.Sheet {
	var reqs []string
	for _, r := range rep.Totals.Requirements {
		reqs = append(reqs, r.ID)
	}
	s := &sheet.Sheet{Title: fmt.Sprintf("干部教育培训学时统计表（%d年度）", rep.Year),
		Headers: []string{"单位", "干部人数", zh("county_and_above"), zh("township_and_below"), "参训人数", "参训率（%）",
			"脱产培训学时", "人均脱产培训学时", "网络培训学时", "人均网络培训学时", "补训人数"}}
	for _, id := range reqs {
		l := zh(id)
		s.Headers = append(s.Headers, l+"·适用人数", l+"·已达标", l+"·进度正常", l+"·有风险", l+"·未达标")
	}
	row := func(name string, f app.ReportFigures) {
		r := []any{name, f.Cadres, f.ByCategory["county_and_above"], f.ByCategory["township_and_below"], f.Trained,
			f.Participation, f.FullTime, f.FullTimeAvg, f.Online, f.OnlineAvg, f.Makeup.Cadres}
		for _, id := range reqs {
			var rc app.RequirementCounts
			for _, x := range f.Requirements {
				if x.ID == id {
					rc = x
				}
			}
			r = append(r, rc.Cadres, rc.Met, rc.OnTrack, rc.AtRisk, rc.Unmet)
		}
		s.Add(r...)
	}
	for _, ch := range rep.Children {
		name := ch.Unit
		if ch.Unit == rep.Unit {
			name += "（本级）"
		}
		row(name, ch.ReportFigures)
	}
	total := "合计"
	if rep.Unit != "" {
		total = rep.Unit + " 合计"
	}
	row(total, rep.Totals)
	return s
}

// makeupList is GET /v1/reports/makeup: the 补训 list of a unit subtree, paged.
func (a *API) makeupList(c *call) (int, any, error) {
	var errs training.Fields
	q := c.r.URL.Query()
	format := exportFormat(c.r, &errs)
	mq := app.MakeupQuery{Unit: queryUnit(q, c.key, &errs), Year: queryYear(q, &errs), Limit: queryLimit(q, &errs), Cursor: q.Get("cursor")}
	if err := mergeFields(errs, a.d.Service.CheckMakeup(c.key, &mq)).Err(); err != nil {
		return 0, nil, err
	}
	if format == formatJSON {
		page, err := a.d.Service.MakeupList(c.ctx(), c.key, mq)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, ListView{Cadres: factsViews(c.lang(), page.Items), NextCursor: page.NextCursor}, nil
	}
	all, err := a.allPages(func(cursor string) (app.ListPage, error) {
		mq.Cursor, mq.Limit = cursor, app.MaxListLimit
		return a.d.Service.MakeupList(c.ctx(), c.key, mq)
	}, mq.Cursor)
	if err != nil {
		return 0, nil, err
	}
	s := &sheet.Sheet{Title: fmt.Sprintf("补训名单（%d年度）", mq.Year), Headers: []string{"序号", "单位", "干部编号", "姓名", "职级", "类别", "补训原因"}}
	for i, f := range all {
		s.Add(i+1, f.Unit, f.CadreID, f.Name, a.rankTitle(f.Rank), zh(f.Category), makeupText(f.Makeup))
	}
	return a.exportSheet(c, format, s)
}

// ---- the archive and form entries as sheets

func recordsSheet(cadre training.Cadre, year int, recs []training.Record) *sheet.Sheet {
	title := fmt.Sprintf("干部教育培训档案（%s）", cadre.Name)
	if year > 0 {
		title = fmt.Sprintf("干部教育培训档案（%s，%d年度）", cadre.Name, year)
	}
	s := &sheet.Sheet{Title: title, Headers: []string{"序号", "记录编号", "培训类型", "是否脱产", "培训班次/课程", "培训机构",
		"开始日期", "结束日期", "学习日期", "天数", "学时", "考核结果", "状态", "来源"}}
	for i, r := range recs {
		ft, days, studied := any(""), any(""), training.Date{}
		if r.Kind == training.KindCentralized {
			ft, days = r.FullTime, r.Days
		} else {
			studied = r.AttributionDate()
		}
		assess := map[training.Assessment]string{training.AssessmentPassed: "合格", training.AssessmentFailed: "不合格（学时不予认定）"}[r.Assessment]
		status := "有效"
		if r.Status == training.StatusVoided {
			status = "已作废"
			if r.Void != nil {
				status += "：" + r.Void.Reason
			}
		}
		src := r.SourceSystem
		if src == "" {
			src = r.Source
		}
		s.Add(i+1, r.ID, zh(string(r.Kind)), ft, r.CourseTitle, r.Institution, r.StartDate, r.EndDate, studied,
			days, r.Hours, assess, status, src)
	}
	return s
}

func entriesSheet(cadre training.Cadre, form training.FormKind, year int, es []training.FormEntry) *sheet.Sheet {
	title := fmt.Sprintf("干部任免审批表·培训经历（%s）", cadre.Name)
	if form == training.FormAppraisal {
		title = fmt.Sprintf("年度考核登记表·脱产培训情况（%s）", cadre.Name)
		if year > 0 {
			title = fmt.Sprintf("年度考核登记表·脱产培训情况（%s，%d年度）", cadre.Name, year)
		}
	}
	s := &sheet.Sheet{Title: title, Headers: []string{"序号", "年度", "开始日期", "结束日期", "月数", "培训机构", "培训班次", "填写内容", "状态"}}
	for i, e := range es {
		y := any("")
		if e.Year > 0 {
			y = e.Year
		}
		status := "有效"
		if e.Status == training.EntryWithdrawn {
			status = "已撤回"
			if e.Withdrawal != nil {
				status += "：" + e.Withdrawal.Reason
			}
		}
		s.Add(i+1, y, e.StartDate, e.EndDate, e.Months, e.Institution, e.CourseTitle, e.Line, status)
	}
	return s
}
