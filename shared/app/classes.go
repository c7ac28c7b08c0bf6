package app

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/cadre-training/cadretrain/shared/training"
)

// Classes and call-ups (调训). Seed 000 三（一）: training is registered with 调训审批、报备 and
// 调训 is regularly reported (通报); seed 000 四: a cadre who does not attend without good reason
// is criticised. docs/rules.md “Calling cadres to training (调训)” says what is implemented.

// MaxCalled bounds the cadres one class calls (the class is one document).
const MaxCalled = 2000

// ClassInput is a class as registered by an organisation department (PUT /v1/classes/{course_id}).
type ClassInput struct {
	Title           string
	Institution     string
	InstitutionType string
	Unit            string
	StartDate       training.Date
	EndDate         training.Date
	FullTime        bool
	PlannedHours    training.Hours
	CadreIDs        []string
	CallUnit        string
	CallCategory    string
}

var tokenRE = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// CheckClass validates a class without the store: one FieldError per bad field.
func (s *Service) CheckClass(courseID string, in ClassInput) training.Fields {
	var f training.Fields
	training.CheckID(&f, "course_id", courseID)
	training.CheckTextField(&f, "title", in.Title, training.MaxTitleRunes, true)
	training.CheckTextField(&f, "institution", in.Institution, training.MaxTitleRunes, false)
	if in.InstitutionType != "" && !tokenRE.MatchString(in.InstitutionType) {
		f.Add("institution_type", "must be a lower-case token like party_school")
	}
	if msg := training.CheckUnit(in.Unit); msg != "" {
		f.Add("unit", "%s", msg)
	}
	if in.StartDate.IsZero() {
		f.Add("start_date", "is required")
	}
	if in.EndDate.IsZero() {
		f.Add("end_date", "is required")
	}
	span := 0
	if !in.StartDate.IsZero() && !in.EndDate.IsZero() {
		if in.EndDate.Before(in.StartDate) {
			f.Add("end_date", "must not be before start_date")
		} else {
			span = in.StartDate.DaysThrough(in.EndDate)
		}
	}
	switch {
	case in.PlannedHours <= 0:
		f.Add("planned_hours", "must be more than 0")
	case span > 0 && in.PlannedHours > training.Hours(int64(span)*24*100):
		f.Add("planned_hours", "must be at most 24 学时 a day of the class (%d days)", span)
	}
	if len(in.CadreIDs) == 0 && in.CallUnit == "" {
		f.Add("cadre_ids", "give the called cadres, or call_unit (and call_category)")
	}
	if len(in.CadreIDs) > MaxCalled {
		f.Add("cadre_ids", "must list at most %d cadres", MaxCalled)
	}
	seen := map[string]bool{}
	for i, id := range in.CadreIDs {
		field := fmt.Sprintf("cadre_ids[%d]", i)
		var g training.Fields
		training.CheckID(&g, field, id)
		f = append(f, g...)
		if len(g) == 0 && seen[id] {
			f.Add(field, "lists %s twice", id)
		}
		seen[id] = true
	}
	if in.CallUnit != "" {
		if msg := training.CheckUnit(in.CallUnit); msg != "" {
			f.Add("call_unit", "%s", msg)
		}
	}
	if in.CallCategory != "" {
		if in.CallUnit == "" {
			f.Add("call_category", "needs call_unit")
		}
		var ids []string
		for _, c := range training.CurrentPolicy(s.now()).Categories {
			ids = append(ids, c.ID)
		}
		if !slices.Contains(ids, in.CallCategory) {
			f.Add("call_category", "unknown category %q; accepted: %s", in.CallCategory, strings.Join(ids, ", "))
		}
	}
	return f
}

func (s *Service) getClass(ctx context.Context, courseID string) (training.Class, error) {
	var c training.Class
	ver, err := s.getDoc(ctx, training.DocClass, courseID, &c)
	if training.ErrorCode(err) == training.ENOTFOUND {
		return c, training.Errorf(training.ENOTFOUND, "class %s not found", courseID)
	}
	c.Version = ver
	return c, err
}

// GetClass returns a class whose organising unit is visible in scope, else ENOTFOUND.
func (s *Service) GetClass(ctx context.Context, scope Scope, courseID string) (training.Class, error) {
	c, err := s.getClass(ctx, courseID)
	if err != nil {
		return c, err
	}
	if !visible(scope, c.Unit) {
		return training.Class{}, training.Errorf(training.ENOTFOUND, "class %s not found", courseID)
	}
	return c, nil
}

// sameClassInput reports whether the class already says what in says.
func sameClassInput(c training.Class, in ClassInput) bool {
	return c.Title == in.Title && c.Institution == in.Institution && c.InstitutionType == in.InstitutionType &&
		c.Unit == in.Unit && c.StartDate == in.StartDate && c.EndDate == in.EndDate && c.FullTime == in.FullTime &&
		c.PlannedHours == in.PlannedHours && slices.Equal(c.CadreIDs, in.CadreIDs) &&
		c.CallUnit == in.CallUnit && c.CallCategory == in.CallCategory
}

// PutClass registers or replaces a draft class. Every listed cadre must exist in scope, and the
// organising unit and call_unit must be in scope (EFORBIDDEN). A filed class cannot change:
// the same content again is a no-op (created false), other content ECONFLICT.
func (s *Service) PutClass(ctx context.Context, scope Scope, courseID string, in ClassInput) (training.Class, bool, error) {
	in.Title = strings.TrimSpace(in.Title)
	f := s.CheckClass(courseID, in)
	if err := f.Err(); err != nil {
		return training.Class{}, false, err
	}
	if !visible(scope, in.Unit) {
		return training.Class{}, false, training.Errorf(training.EFORBIDDEN, "unit %s is outside the units of this API key", in.Unit)
	}
	if in.CallUnit != "" && !visible(scope, in.CallUnit) {
		return training.Class{}, false, training.Errorf(training.EFORBIDDEN, "call_unit %s is outside the units of this API key", in.CallUnit)
	}
	for i, id := range in.CadreIDs {
		if _, err := s.GetCadre(ctx, scope, id); err != nil {
			if training.ErrorCode(err) != training.ENOTFOUND {
				return training.Class{}, false, err
			}
			f.Add(fmt.Sprintf("cadre_ids[%d]", i), "no cadre %s in the units of this API key", id)
		}
	}
	if err := f.Err(); err != nil {
		return training.Class{}, false, err
	}
	for attempt := 0; ; attempt++ {
		cur, err := s.getClass(ctx, courseID)
		exists := err == nil
		if err != nil && training.ErrorCode(err) != training.ENOTFOUND {
			return training.Class{}, false, err
		}
		if exists && !visible(scope, cur.Unit) {
			return training.Class{}, false, training.Errorf(training.ECONFLICT, "course_id %s is used by a class of another unit", courseID)
		}
		if exists && sameClassInput(cur, in) {
			return cur, false, nil
		}
		if exists && cur.Status == training.ClassFiled {
			return training.Class{}, false, training.Errorf(training.ECONFLICT, "class %s is filed and can no longer change", courseID)
		}
		now := s.now().UTC()
		next := cur
		if !exists {
			next = training.Class{CourseID: courseID, Status: training.ClassDraft, CreatedAt: now, Calls: []training.Call{}}
		}
		next.Title, next.Institution, next.InstitutionType, next.Unit = in.Title, in.Institution, in.InstitutionType, in.Unit
		next.StartDate, next.EndDate, next.FullTime, next.PlannedHours = in.StartDate, in.EndDate, in.FullTime, in.PlannedHours
		next.CadreIDs, next.CallUnit, next.CallCategory = slices.Clone(in.CadreIDs), in.CallUnit, in.CallCategory
		if next.CadreIDs == nil {
			next.CadreIDs = []string{}
		}
		next.UpdatedAt = now
		ver, err := s.putDoc(ctx, training.DocClass, courseID, next, cur.Version)
		if training.ErrorCode(err) == training.ECONFLICT && attempt < maxDocRetries {
			continue
		}
		next.Version = ver
		return next, !exists, err
	}
}

// resolveCalls lists the called cadres: the listed ones, then those of the unit subtree (and
// category), each once, in scope.
func (s *Service) resolveCalls(ctx context.Context, scope Scope, c training.Class) ([]training.Call, error) {
	var calls []training.Call
	seen := map[string]bool{}
	add := func(cd training.Cadre) {
		if !seen[cd.ID] {
			seen[cd.ID] = true
			calls = append(calls, training.Call{CadreID: cd.ID, Name: cd.Name, Unit: cd.Unit})
		}
	}
	var f training.Fields
	for i, id := range c.CadreIDs {
		cd, err := s.GetCadre(ctx, scope, id)
		if training.ErrorCode(err) == training.ENOTFOUND {
			f.Add(fmt.Sprintf("cadre_ids[%d]", i), "no cadre %s in the units of this API key", id)
			continue
		}
		if err != nil {
			return nil, err
		}
		add(cd)
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if c.CallUnit != "" {
		cursor := ""
		for {
			page, next, err := s.Store.ListCadres(ctx, c.CallUnit, cursor, 500)
			if err != nil {
				return nil, err
			}
			for _, cd := range page {
				if !visible(scope, cd.Unit) {
					continue
				}
				s.setCurrentRank(&cd)
				if c.CallCategory == "" || cd.Category == c.CallCategory {
					add(cd)
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	if len(calls) == 0 {
		f.Add("cadre_ids", "the class calls nobody: no cadre matches call_unit and call_category")
		return nil, f.Err()
	}
	if len(calls) > MaxCalled {
		f.Add("call_unit", "calls %d cadres; at most %d", len(calls), MaxCalled)
		return nil, f.Err()
	}
	return calls, nil
}

// FileClass files a draft class (调训审批、报备): the called cadres are resolved and fixed, each
// gets the class in their archive and a call notice (class.call_notice). Filing a filed class
// is a no-op (changed false). Each step is idempotent, so a filing interrupted half-way is
// completed by filing again.
func (s *Service) FileClass(ctx context.Context, scope Scope, courseID, actor string) (training.Class, bool, error) {
	c, err := s.GetClass(ctx, scope, courseID)
	if err != nil {
		return c, false, err
	}
	if c.Status == training.ClassFiled {
		return c, false, nil
	}
	calls, err := s.resolveCalls(ctx, scope, c)
	if err != nil {
		return c, false, err
	}
	now := s.now().UTC()
	for _, call := range calls {
		if _, err := s.putDoc(ctx, training.DocCall, training.CallDocID(call.CadreID, courseID),
			training.CallIndex{CadreID: call.CadreID, CourseID: courseID}, 0); err != nil && training.ErrorCode(err) != training.ECONFLICT {
			return c, false, err
		}
	}
	filed := c
	filed.Status, filed.Calls, filed.FiledAt, filed.FiledBy, filed.UpdatedAt = training.ClassFiled, calls, now, actor, now
	for _, call := range calls {
		if err := s.emit(ctx, callEvent(training.EventCallNotice, filed, call, now)); err != nil {
			return c, false, err
		}
	}
	ver, err := s.putDoc(ctx, training.DocClass, courseID, filed, c.Version)
	if training.ErrorCode(err) == training.ECONFLICT {
		return c, false, training.Errorf(training.ECONFLICT, "class %s was changed while it was being filed; file it again", courseID)
	}
	if err != nil {
		return c, false, err
	}
	filed.Version = ver
	return filed, true, nil
}

// CallNoticeData is the data of class.call_notice and class.absent_without_reason events.
type CallNoticeData struct {
	CourseID        string             `json:"course_id"`
	Title           string             `json:"title"`
	Institution     string             `json:"institution"`
	InstitutionType string             `json:"institution_type,omitempty"`
	StartDate       training.Date      `json:"start_date"`
	EndDate         training.Date      `json:"end_date"`
	FullTime        bool               `json:"full_time"`
	PlannedHours    training.Hours     `json:"planned_hours"`
	ClassUnit       string             `json:"class_unit"`
	CadreID         string             `json:"cadre_id"`
	Name            string             `json:"name"`
	Unit            string             `json:"unit"`
	State           training.CallState `json:"state"`
}

// callEvent is the notice of a call or of an absence, about the cadre's unit.
func callEvent(typ string, c training.Class, call training.Call, now time.Time) training.Event {
	state := training.CallCalled
	if typ == training.EventAbsentWithoutReason {
		state = training.CallAbsent
	}
	data, _ := json.Marshal(CallNoticeData{
		CourseID: c.CourseID, Title: c.Title, Institution: c.Institution, InstitutionType: c.InstitutionType,
		StartDate: c.StartDate, EndDate: c.EndDate, FullTime: c.FullTime, PlannedHours: c.PlannedHours, ClassUnit: c.Unit,
		CadreID: call.CadreID, Name: call.Name, Unit: call.Unit, State: state,
	})
	return training.Event{ID: training.EventID(typ, c.CourseID, call.CadreID), Type: typ, Unit: call.Unit,
		CadreID: call.CadreID, Data: data, Timestamp: now}
}

// RecordLeave records approved leave (请假) of a called cadre with its reason: the cadre is then
// not absent without reason. The same reason again is a no-op (changed false); another reason
// replaces it. The class must be filed and the cadre called.
func (s *Service) RecordLeave(ctx context.Context, scope Scope, courseID, cadreID, reason, actor string) (training.Class, bool, error) {
	var f training.Fields
	training.CheckID(&f, "cadre_id", cadreID)
	reason = strings.TrimSpace(reason)
	training.CheckTextField(&f, "reason", reason, training.MaxReasonRunes, true)
	if err := f.Err(); err != nil {
		return training.Class{}, false, err
	}
	if _, err := s.GetClass(ctx, scope, courseID); err != nil {
		return training.Class{}, false, err
	}
	changed := false
	_, err := updateDoc(ctx, s, training.DocClass, courseID, func(c *training.Class) (bool, error) {
		changed = false
		if c.Status != training.ClassFiled {
			return false, training.Errorf(training.ECONFLICT, "class %s is not filed yet: nobody is called", courseID)
		}
		call := c.Call(cadreID)
		if call == nil {
			f.Add("cadre_id", "%s is not called to class %s", cadreID, courseID)
			return false, f.Err()
		}
		if call.Leave != nil && call.Leave.Reason == reason {
			return false, nil
		}
		call.Leave = &training.Voiding{Reason: reason, By: actor, At: s.now().UTC()}
		c.UpdatedAt = s.now().UTC()
		changed = true
		return true, nil
	})
	if err != nil {
		return training.Class{}, false, err
	}
	c, err := s.getClass(ctx, courseID)
	return c, changed, err
}

// markAttendance applies a record change to the class of its course_id: an active completion of
// a called cadre marks attendance; voiding the record that marked it takes the mark back. Other
// records, classes not filed and cadres not called change nothing.
func (s *Service) markAttendance(ctx context.Context, rec training.Record) error {
	if rec.CourseID == "" || rec.Kind != training.KindCentralized && rec.Kind != training.KindOnline {
		return nil
	}
	_, err := updateDoc(ctx, s, training.DocClass, rec.CourseID, func(c *training.Class) (bool, error) {
		if c.Status != training.ClassFiled {
			return false, nil
		}
		call := c.Call(rec.CadreID)
		if call == nil {
			return false, nil
		}
		switch {
		case rec.Status == training.StatusVoided && call.RecordID == rec.ID:
			call.RecordID = ""
		case rec.Status != training.StatusVoided && call.RecordID == "":
			call.RecordID = rec.ID
		default:
			return false, nil
		}
		c.UpdatedAt = s.now().UTC()
		return true, nil
	})
	if training.ErrorCode(err) == training.ENOTFOUND {
		return nil
	}
	return err
}

// ClassView is a class with each call's state as of today and the counts per unit.
type ClassView struct {
	training.Class
	Calls   []CallView            `json:"calls"`
	Summary training.CallCounts   `json:"summary"`
	ByUnit  []training.CallCounts `json:"by_unit"`
}

// CallView is a call with its state.
type CallView struct {
	training.Call
	State training.CallState `json:"state"`
}

// ViewClass adds the states as of today.
func (s *Service) ViewClass(c training.Class) ClassView {
	today := s.Today()
	v := ClassView{Class: c, Calls: make([]CallView, 0, len(c.Calls))}
	for _, call := range c.Calls {
		st := call.StateOn(c, today)
		v.Calls = append(v.Calls, CallView{Call: call, State: st})
		v.Summary.Add(st)
	}
	v.ByUnit = training.CallsByUnit([]training.Class{c}, today, nil)
	return v
}

// ListClasses lists the classes whose organising unit or some called cadre's unit lies in the
// unit subtree and in scope, by course_id; year > 0 keeps those ending in that year.
func (s *Service) ListClasses(ctx context.Context, scope Scope, unit string, year int) ([]training.Class, error) {
	docs, err := s.listAllDocs(ctx, training.DocClass, "")
	if err != nil {
		return nil, err
	}
	var out []training.Class
	for _, d := range docs {
		var c training.Class
		if err := json.Unmarshal(d.Body, &c); err != nil {
			return nil, fmt.Errorf("decode class %s: %w", d.ID, err)
		}
		c.Version = d.Version
		if year > 0 && c.EndDate.Year != year {
			continue
		}
		in := visible(scope, c.Unit) && training.InUnit(c.Unit, unit)
		for _, call := range c.Calls {
			in = in || visible(scope, call.Unit) && training.InUnit(call.Unit, unit)
		}
		if in {
			out = append(out, c)
		}
	}
	return out, nil
}

// CallsReport is 调训 of a unit subtree: per unit of the called cadres, called, attended, on
// leave, absent without reason and 调训率 (attended ÷ called), and the total.
type CallsReport struct {
	Unit    string                `json:"unit"`
	Year    int                   `json:"year,omitempty"`
	AsOf    training.Date         `json:"as_of"`
	Total   training.CallCounts   `json:"total"`
	ByUnit  []training.CallCounts `json:"by_unit"`
	Classes []ClassSummary        `json:"classes"`
}

// ClassSummary is one class in a report: its counts within the report's units.
type ClassSummary struct {
	CourseID  string               `json:"course_id"`
	Title     string               `json:"title"`
	Status    training.ClassStatus `json:"status"`
	StartDate training.Date        `json:"start_date"`
	EndDate   training.Date        `json:"end_date"`
	Counts    training.CallCounts  `json:"counts"`
}

// ReportCalls builds the CallsReport of unit (in scope).
func (s *Service) ReportCalls(ctx context.Context, scope Scope, unit string, year int) (CallsReport, error) {
	classes, err := s.ListClasses(ctx, scope, unit, year)
	if err != nil {
		return CallsReport{}, err
	}
	today := s.Today()
	in := func(u string) bool { return visible(scope, u) && training.InUnit(u, unit) }
	rep := CallsReport{Unit: unit, Year: year, AsOf: today, ByUnit: training.CallsByUnit(classes, today, in), Classes: []ClassSummary{}}
	for _, c := range classes {
		sum := ClassSummary{CourseID: c.CourseID, Title: c.Title, Status: c.Status, StartDate: c.StartDate, EndDate: c.EndDate}
		for _, call := range c.Calls {
			if c.Status == training.ClassFiled && in(call.Unit) {
				st := call.StateOn(c, today)
				sum.Counts.Add(st)
				rep.Total.Add(st)
			}
		}
		rep.Classes = append(rep.Classes, sum)
	}
	return rep, nil
}

// CadreCall is a class in a cadre's archive, with the cadre's state.
type CadreCall struct {
	CourseID    string               `json:"course_id"`
	Title       string               `json:"title"`
	Institution string               `json:"institution"`
	StartDate   training.Date        `json:"start_date"`
	EndDate     training.Date        `json:"end_date"`
	FullTime    bool                 `json:"full_time"`
	Status      training.ClassStatus `json:"class_status"`
	State       training.CallState   `json:"state"`
	RecordID    string               `json:"record_id,omitempty"`
	Leave       *training.Voiding    `json:"leave,omitempty"`
}

// CadreCalls lists the classes a visible cadre was called to, newest end date first.
func (s *Service) CadreCalls(ctx context.Context, scope Scope, cadreID string) ([]CadreCall, error) {
	if _, err := s.GetCadre(ctx, scope, cadreID); err != nil {
		return nil, err
	}
	docs, err := s.listAllDocs(ctx, training.DocCall, cadreID+"/")
	if err != nil {
		return nil, err
	}
	today := s.Today()
	out := []CadreCall{}
	for _, d := range docs {
		var ix training.CallIndex
		if err := json.Unmarshal(d.Body, &ix); err != nil {
			return nil, fmt.Errorf("decode call %s: %w", d.ID, err)
		}
		c, err := s.getClass(ctx, ix.CourseID)
		if training.ErrorCode(err) == training.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, err
		}
		call := c.Call(cadreID)
		if call == nil {
			continue
		}
		out = append(out, CadreCall{CourseID: c.CourseID, Title: c.Title, Institution: c.Institution, StartDate: c.StartDate,
			EndDate: c.EndDate, FullTime: c.FullTime, Status: c.Status, State: call.StateOn(c, today), RecordID: call.RecordID, Leave: call.Leave})
	}
	slices.SortFunc(out, func(a, b CadreCall) int {
		if c := b.EndDate.Compare(a.EndDate); c != 0 {
			return c
		}
		return strings.Compare(a.CourseID, b.CourseID)
	})
	return out, nil
}

// NotifyAbsences announces, once per class, the absences of every filed class that has ended
// (its end date is before today): one class.absent_without_reason event per called cadre with
// neither attendance nor approved leave. The daily schedule runs it.
func (s *Service) NotifyAbsences(ctx context.Context) (int, error) {
	docs, err := s.listAllDocs(ctx, training.DocClass, "")
	if err != nil {
		return 0, err
	}
	today := s.Today()
	n := 0
	for _, d := range docs {
		var c training.Class
		if err := json.Unmarshal(d.Body, &c); err != nil {
			return n, fmt.Errorf("decode class %s: %w", d.ID, err)
		}
		if c.Status != training.ClassFiled || c.AbsencesNotified || !today.After(c.EndDate) {
			continue
		}
		now := s.now().UTC()
		for _, call := range c.Calls {
			if call.StateOn(c, today) == training.CallAbsent {
				if err := s.emit(ctx, callEvent(training.EventAbsentWithoutReason, c, call, now)); err != nil {
					return n, err
				}
				n++
			}
		}
		_, err := updateDoc(ctx, s, training.DocClass, c.CourseID, func(c *training.Class) (bool, error) {
			c.AbsencesNotified = true
			return true, nil
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
