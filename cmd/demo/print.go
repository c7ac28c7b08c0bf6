package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/cadre-training/cadretrain/shared/training"
)

var categoryTitle = map[string]string{
	"county_and_above":   "县处级以上",
	"township_and_below": "乡科级以下",
}

// Requirement columns, in policy order, with the short heading the table uses.
var requirementCols = []struct{ id, head string }{
	{"centralized_5y", "集中培训(5年)"},
	{"centralized_annual", "集中培训(年度)"},
	{"online_annual", "网络自学(年度)"},
	{"leadership_party_school_5y", "党校(班子,5年)"},
}

var states = []training.State{"met", "on_track", "at_risk", "unmet"}

// measureCell shows achieved/target per measure and the state: "61/90d 320/550h on_track".
func measureCell(r training.RequirementStatus) string {
	var parts []string
	if r.Target.Days != nil {
		var a training.Days
		if r.Achieved.Days != nil {
			a = *r.Achieved.Days
		}
		parts = append(parts, fmt.Sprintf("%s/%sd", a, *r.Target.Days))
	}
	if r.Target.Hours != nil {
		var a training.Hours
		if r.Achieved.Hours != nil {
			a = *r.Achieved.Hours
		}
		parts = append(parts, fmt.Sprintf("%s/%sh", a, *r.Target.Hours))
	}
	return strings.Join(append(parts, string(r.State)), " ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

func (d *demoRun) print(out io.Writer) {
	y, p := d.o.today.Year, d.o.today.Year-1
	fmt.Fprintf(out, "\nQuota status (stored snapshot, as of %s; achieved/target, d = days, h = 学时) and last year (as of %d-12-31):\n\n", d.o.today, p)
	rows := [][]string{{"cadre", "姓名", "unit", "类别", "overall"}}
	for _, c := range requirementCols {
		rows[0] = append(rows[0], c.head)
	}
	rows[0] = append(rows[0], "可评优秀", fmt.Sprintf("%d overall", p))
	nowCount, lastCount := map[training.State]int{}, map[training.State]int{}
	type unitSum struct {
		cadres, met, atRisk, lastUnmet int
		online                         training.Hours
	}
	units := make([]unitSum, len(Units))
	for _, c := range d.ds.Cadres {
		v := d.views[c.ID]
		st := v.now
		row := []string{c.ID, c.Profile.Name, c.Profile.Unit, categoryTitle[st.Category], string(st.Overall)}
		for _, col := range requirementCols {
			cell := "-"
			for _, r := range st.Requirements {
				if r.ID == col.id {
					cell = measureCell(r)
					if r.ID == "online_annual" && r.Achieved.Hours != nil {
						units[c.UnitIdx].online += *r.Achieved.Hours
					}
				}
			}
			row = append(row, cell)
		}
		row = append(row, yesNo(st.AppraisalExcellentEligible), string(v.last.Overall))
		rows = append(rows, row)
		nowCount[st.Overall]++
		lastCount[v.last.Overall]++
		u := &units[c.UnitIdx]
		u.cadres++
		switch st.Overall {
		case "met":
			u.met++
		case "at_risk":
			u.atRisk++
		}
		if v.last.Overall == "unmet" {
			u.lastUnmet++
		}
	}
	writeTable(out, rows)

	fmt.Fprintln(out)
	var now, last []string
	for _, s := range states {
		now = append(now, fmt.Sprintf("%s %d", s, nowCount[s]))
		last = append(last, fmt.Sprintf("%s %d", s, lastCount[s]))
	}
	fmt.Fprintf(out, "Overall %d (as of %s): %s\n", y, d.o.today, strings.Join(now, ", "))
	fmt.Fprintf(out, "Overall %d (as of %d-12-31): %s\n\n", p, p, strings.Join(last, ", "))

	rows = [][]string{{"unit", "单位", "cadres", "met", "met %", "at_risk", fmt.Sprintf("%d unmet", p), "人均网络学时"}}
	for i, u := range units {
		pct, avg := "-", "-"
		if u.cadres > 0 {
			pct = fmt.Sprintf("%d%%", u.met*100/u.cadres)
			avg = (u.online / training.Hours(u.cadres)).String()
		}
		rows = append(rows, []string{Units[i].Path, Units[i].Name, fmt.Sprint(u.cadres), fmt.Sprint(u.met), pct,
			fmt.Sprint(u.atRisk), fmt.Sprint(u.lastUnmet), avg})
	}
	fmt.Fprintln(out, "Participation by unit:")
	fmt.Fprintln(out)
	writeTable(out, rows)

	names := map[string]string{}
	for _, c := range d.ds.Cadres {
		names[c.ID] = c.Profile.Name
	}
	formRows := func(pick func(*view) []training.FormEntry) [][]string {
		rows := [][]string{{"cadre", "姓名", "months", "assessment", "status", "line"}}
		for _, c := range d.ds.Cadres {
			for _, e := range pick(d.views[c.ID]) {
				status := string(e.Status)
				if e.Withdrawal != nil {
					status += " (" + e.Withdrawal.Reason + ")"
				}
				rows = append(rows, []string{c.ID, names[c.ID], fmt.Sprint(e.Months), string(e.Assessment), status, e.Line})
			}
		}
		return rows
	}
	fmt.Fprintln(out, "\n干部任免审批表 (appointment-approval form): full-time trainings of 2 calendar months or more:")
	fmt.Fprintln(out)
	writeTable(out, moveLast(formRows(func(v *view) []training.FormEntry { return v.appointment }), 4))
	fmt.Fprintf(out, "\n年度考核登记表 (annual appraisal form), %d and %d: every full-time training, by the year it ended:\n\n", y, p)
	writeTable(out, moveLast(formRows(func(v *view) []training.FormEntry { return v.appraisal }), 4))
}

// moveLast moves column i to the end, so a long free-text column does not push the others apart.
func moveLast(rows [][]string, i int) [][]string {
	for k, r := range rows {
		rows[k] = append(append(append([]string{}, r[:i]...), r[i+1:]...), r[i])
	}
	return rows
}
