package training

import (
	"slices"
	"strings"
	"time"
)

// ClassStatus is where a class (调训通知) stands in its approval and filing (调训审批、报备).
type ClassStatus string

const (
	ClassDraft ClassStatus = "draft" // registered; may still change; nobody has been called
	ClassFiled ClassStatus = "filed" // approved and filed: the called cadres are fixed and notified
)

// CallState is where one called cadre stands (seed 000 四: a cadre who does not attend without
// good reason is criticised).
type CallState string

const (
	CallCalled   CallState = "called"                // called; the class has not ended and no attendance yet
	CallAttended CallState = "attended"              // a completion with the class's course_id arrived
	CallOnLeave  CallState = "on_leave"              // HR recorded approved leave (请假) with a reason
	CallAbsent   CallState = "absent_without_reason" // the class ended without attendance or approved leave
)

// Class is a training class that cadres are called to (调训): registered by an organisation
// department, filed, then attended (or not) by the called cadres. Its id is the course_id that
// completions of the class carry.
type Class struct {
	CourseID        string      `json:"course_id"`
	Title           string      `json:"title"`
	Institution     string      `json:"institution"`
	InstitutionType string      `json:"institution_type,omitempty"`
	Unit            string      `json:"unit"` // the organising department's unit
	StartDate       Date        `json:"start_date"`
	EndDate         Date        `json:"end_date"`
	FullTime        bool        `json:"full_time"`
	PlannedHours    Hours       `json:"planned_hours"`
	Status          ClassStatus `json:"status"`
	// Who is called: the listed cadres, and (when CallUnit is set) every cadre in that unit
	// subtree, of CallCategory when set. Resolved into Calls when the class is filed.
	CadreIDs     []string  `json:"cadre_ids"`
	CallUnit     string    `json:"call_unit,omitempty"`
	CallCategory string    `json:"call_category,omitempty"`
	Calls        []Call    `json:"calls"`
	FiledAt      time.Time `json:"filed_at,omitzero"`
	FiledBy      string    `json:"filed_by,omitempty"`
	// AbsencesNotified is set once the absences of the ended class were announced.
	AbsencesNotified bool      `json:"absences_notified,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
	Version          int64     `json:"version"`
}

// Call is one cadre called to a class.
type Call struct {
	CadreID string `json:"cadre_id"`
	Name    string `json:"name"`
	Unit    string `json:"unit"` // the cadre's unit when called: unit reports count it there
	// RecordID is the completion that marked attendance.
	RecordID string   `json:"record_id,omitempty"`
	Leave    *Voiding `json:"leave,omitempty"` // approved leave: reason, by, at
}

// StateOn is the call's state as of today: attended, on leave, absent without reason once the
// class has ended (its end date is before today), else called.
func (c Call) StateOn(class Class, today Date) CallState {
	switch {
	case c.RecordID != "":
		return CallAttended
	case c.Leave != nil:
		return CallOnLeave
	case class.Status == ClassFiled && today.After(class.EndDate):
		return CallAbsent
	}
	return CallCalled
}

// Call returns the call of the cadre, or nil.
func (cl *Class) Call(cadreID string) *Call {
	for i := range cl.Calls {
		if cl.Calls[i].CadreID == cadreID {
			return &cl.Calls[i]
		}
	}
	return nil
}

// CallCounts counts calls by state; Rate is 调训率 = attended ÷ called (0 when nobody was called).
type CallCounts struct {
	Unit     string  `json:"unit,omitempty"`
	Called   int     `json:"called"`
	Attended int     `json:"attended"`
	OnLeave  int     `json:"on_leave"`
	Absent   int     `json:"absent_without_reason"`
	Pending  int     `json:"pending"` // called, class not ended, no attendance yet
	Rate     float64 `json:"attendance_rate"`
}

// Add counts one call in state st.
func (c *CallCounts) Add(st CallState) {
	c.Called++
	switch st {
	case CallAttended:
		c.Attended++
	case CallOnLeave:
		c.OnLeave++
	case CallAbsent:
		c.Absent++
	default:
		c.Pending++
	}
	c.Rate = Rate(c.Attended, c.Called)
}

// Rate is n ÷ d rounded to 4 decimal places (0 when d is 0).
func Rate(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64((int64(n)*20000/int64(d)+1)/2) / 10000
}

// CallsByUnit counts the calls of classes per unit of the cadres (the unit they were called
// in), the units in order; a call counts under its own unit only.
func CallsByUnit(classes []Class, today Date, in func(unit string) bool) []CallCounts {
	by := map[string]*CallCounts{}
	for _, cl := range classes {
		if cl.Status != ClassFiled {
			continue
		}
		for _, c := range cl.Calls {
			if in != nil && !in(c.Unit) {
				continue
			}
			cc := by[c.Unit]
			if cc == nil {
				cc = &CallCounts{Unit: c.Unit}
				by[c.Unit] = cc
			}
			cc.Add(c.StateOn(cl, today))
		}
	}
	out := make([]CallCounts, 0, len(by))
	for _, cc := range by {
		out = append(out, *cc)
	}
	slices.SortFunc(out, func(a, b CallCounts) int { return strings.Compare(a.Unit, b.Unit) })
	return out
}

// CallIndex is the entry of a call-up in the cadre's archive (DocCall, id cadre_id/course_id).
type CallIndex struct {
	CadreID  string `json:"cadre_id"`
	CourseID string `json:"course_id"`
}

// CallDocID is the DocCall id of a cadre's call to a class.
func CallDocID(cadreID, courseID string) string { return cadreID + "/" + courseID }
