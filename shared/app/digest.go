package app

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cadre-training/cadretrain/shared/sheet"
	"github.com/cadre-training/cadretrain/shared/training"
)

// Digest is the weekly 通报 of a unit subtree (seed 000 三（一）: 调训 is regularly reported): the
// cadres by overall state of their stored status, the cadres at risk or unmet with the
// requirements concerned, and 调训 per unit.
type Digest struct {
	Unit   string                `json:"unit"`
	Week   string                `json:"week"` // ISO week of as_of, e.g. 2026-W48
	AsOf   training.Date         `json:"as_of"`
	Cadres int                   `json:"cadres"`
	States DigestStates          `json:"states"`
	AtRisk []DigestCadre         `json:"at_risk"`
	Calls  training.CallCounts   `json:"calls"`
	ByUnit []training.CallCounts `json:"calls_by_unit"`
}

// DigestStates counts cadres by overall state; NotComputed have no stored status yet.
type DigestStates struct {
	Met         int `json:"met"`
	OnTrack     int `json:"on_track"`
	AtRisk      int `json:"at_risk"`
	Unmet       int `json:"unmet"`
	NotComputed int `json:"not_computed"`
}

// DigestCadre is a cadre at risk or unmet.
type DigestCadre struct {
	CadreID      string                       `json:"cadre_id"`
	Name         string                       `json:"name"`
	Unit         string                       `json:"unit"`
	Overall      training.State               `json:"overall"`
	Requirements []training.RequirementStatus `json:"requirements"` // those at risk or unmet
}

// isoWeek names the ISO week of d.
func isoWeek(d training.Date) string {
	y, w := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w)
}

// BuildDigest builds the digest of the unit subtree (in scope) from the stored statuses.
func (s *Service) BuildDigest(ctx context.Context, scope Scope, unit string) (Digest, error) {
	today := s.Today()
	dg := Digest{Unit: unit, Week: isoWeek(today), AsOf: today, AtRisk: []DigestCadre{}}
	cursor := ""
	for {
		page, next, err := s.Store.ListCadres(ctx, unit, cursor, 500)
		if err != nil {
			return dg, err
		}
		for _, c := range page {
			if !visible(scope, c.Unit) {
				continue
			}
			dg.Cadres++
			st, err := s.Store.GetSnapshot(ctx, c.ID)
			if training.ErrorCode(err) == training.ENOTFOUND {
				dg.States.NotComputed++
				continue
			}
			if err != nil {
				return dg, err
			}
			switch st.Overall {
			case training.StateMet:
				dg.States.Met++
			case training.StateOnTrack:
				dg.States.OnTrack++
			case training.StateAtRisk:
				dg.States.AtRisk++
			case training.StateUnmet:
				dg.States.Unmet++
			}
			if st.Overall == training.StateAtRisk || st.Overall == training.StateUnmet {
				dc := DigestCadre{CadreID: c.ID, Name: c.Name, Unit: c.Unit, Overall: st.Overall}
				for _, r := range st.Requirements {
					if r.State == training.StateAtRisk || r.State == training.StateUnmet {
						dc.Requirements = append(dc.Requirements, r)
					}
				}
				dg.AtRisk = append(dg.AtRisk, dc)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	rep, err := s.ReportCalls(ctx, scope, unit, 0)
	if err != nil {
		return dg, err
	}
	dg.Calls, dg.ByUnit = rep.Total, rep.ByUnit
	return dg, nil
}

// WeeklyDigests queues this week's digest.weekly event for every subscription that wants it,
// built for the subscription's unit. The event id is the unit and the ISO week, so running it
// twice in a week sends nothing twice.
func (s *Service) WeeklyDigests(ctx context.Context) (int, error) {
	subs, err := s.ListSubscriptions(ctx, nil)
	if err != nil {
		return 0, err
	}
	built := map[string]training.Event{}
	n := 0
	for _, sub := range subs {
		if !sub.Wants(training.EventWeeklyDigest, sub.Unit) {
			continue
		}
		ev, ok := built[sub.Unit]
		if !ok {
			dg, err := s.BuildDigest(ctx, nil, sub.Unit)
			if err != nil {
				return n, err
			}
			data, _ := json.Marshal(dg)
			ev = training.Event{ID: training.EventID(training.EventWeeklyDigest, sub.Unit, dg.Week), Type: training.EventWeeklyDigest,
				Unit: sub.Unit, Data: data, Timestamp: s.now().UTC()}
			built[sub.Unit] = ev
		}
		if err := s.enqueue(ctx, sub, ev); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// DailyNotices is the notice work of the daily schedule: the absences of ended classes, and on
// Mondays (China Standard Time) the weekly digests.
func (s *Service) DailyNotices(ctx context.Context) error {
	if _, err := s.NotifyAbsences(ctx); err != nil {
		return fmt.Errorf("absences: %w", err)
	}
	t := s.Today()
	if time.Date(t.Year, t.Month, t.Day, 0, 0, 0, 0, time.UTC).Weekday() == time.Monday {
		if _, err := s.WeeklyDigests(ctx); err != nil {
			return fmt.Errorf("weekly digests: %w", err)
		}
	}
	return nil
}

// DigestSheets is the digest as sheets of a workbook: 通报 (the counts), 风险干部 (the cadres at
// risk or unmet), 调训率 (调训 per unit).
func DigestSheets(dg Digest) []*sheet.Sheet {
	summary := &sheet.Sheet{Name: "通报", Rows: [][]any{
		{"单位", dg.Unit}, {"周", dg.Week}, {"截至", dg.AsOf.String()}, {"干部人数", dg.Cadres},
		{"已完成 met", dg.States.Met}, {"进度正常 on_track", dg.States.OnTrack}, {"有风险 at_risk", dg.States.AtRisk},
		{"未完成 unmet", dg.States.Unmet}, {"尚未计算 not_computed", dg.States.NotComputed},
		{"调训人数", dg.Calls.Called}, {"参训人数", dg.Calls.Attended}, {"请假人数", dg.Calls.OnLeave},
		{"无故缺席人数", dg.Calls.Absent}, {"调训率", dg.Calls.Rate},
	}}
	risk := &sheet.Sheet{Name: "风险干部", Headers: []string{"干部编号", "姓名", "单位", "总体状态", "要求", "状态", "截止日期", "尚差学时", "尚差天数"}}
	for _, c := range dg.AtRisk {
		for _, r := range c.Requirements {
			var hours, days any = "", ""
			if r.Remaining.Hours != nil {
				hours = *r.Remaining.Hours
			}
			if r.Remaining.Days != nil {
				days = *r.Remaining.Days
			}
			risk.Add(c.CadreID, c.Name, c.Unit, string(c.Overall), r.ID, string(r.State), r.Deadline.String(), hours, days)
		}
	}
	calls := &sheet.Sheet{Name: "调训率", Headers: []string{"单位", "调训人数", "参训人数", "请假人数", "无故缺席人数", "未结束", "调训率"}}
	for _, u := range dg.ByUnit {
		calls.Add(u.Unit, u.Called, u.Attended, u.OnLeave, u.Absent, u.Pending, u.Rate)
	}
	return []*sheet.Sheet{summary, risk, calls}
}
