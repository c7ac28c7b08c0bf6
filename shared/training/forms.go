package training

import (
	"fmt"
	"strings"
	"time"
)

// docs/rules.md §4 “Records written into cadre forms”, from seed 000 section 四:
// “人事部门对干部教育培训情况实行登记管理制度，将参加脱产培训情况记入干部年度考核登记表，
// 2个月以上的脱产培训记入干部任免审批表。”

// appointmentMonths is the length from which a full-time training enters the 干部任免审批表:
// “2个月以上的脱产培训记入干部任免审批表” (以上 includes the number itself).
const appointmentMonths = 2

// FormEntries returns the form entries a record produces (docs/rules.md §4): for an active (not voided),
// full_time centralized record, an appraisal entry (Year = end_date's year) and, when it lasts >= 2 calendar
// months (E + 1 day >= AddMonthsClamped(S, 2)), an appointment entry. Status active, EnteredAt = now.
// Nothing for online, non-full-time or voided records. Note: failed-assessment full-time trainings ARE still
// entered (the form records participation and the assessment); say so in docs/rules.md.
//
// A record without start_date or end_date (which CheckRecord does not let through) produces nothing.
// The appointment entry has Year 0: it is entered “once, for good”, not for a year.
func FormEntries(r Record, now time.Time) []FormEntry {
	if r.Status == StatusVoided || r.Void != nil || r.Kind != KindCentralized || !r.FullTime {
		return nil
	}
	if r.StartDate.IsZero() || r.EndDate.IsZero() || r.EndDate.Before(r.StartDate) {
		return nil
	}
	base := FormEntry{
		CadreID:     r.CadreID,
		RecordID:    r.ID,
		StartDate:   r.StartDate,
		EndDate:     r.EndDate,
		Months:      WholeMonths(r.StartDate, r.EndDate),
		Institution: r.Institution,
		CourseTitle: r.CourseTitle,
		Assessment:  r.Assessment,
		Line:        FormLine(r),
		Status:      EntryActive,
		EnteredAt:   now,
	}
	appraisal := base
	appraisal.Form, appraisal.Year = FormAppraisal, r.EndDate.Year
	out := []FormEntry{appraisal}
	if base.Months >= appointmentMonths {
		appointment := base
		appointment.Form = FormAppointment
		out = append(out, appointment)
	}
	return out
}

// WholeMonths is the whole calendar months (floor) a training from start to end (inclusive) lasts,
// with clamped month arithmetic: the largest n with end+1day >= start.AddMonthsClamped(n).
//
// docs/rules.md §4: “a training from S to E (inclusive) lasts ≥ 2 months iff E + 1 day ≥ addMonthsClamped(S, 2)”;
// 2024-03-01…2024-04-30 is 2 months, 2024-12-31…2025-02-27 is 2 months, 2024-12-31…2025-02-26 is 1.
// It is 0 when end is before start.
func WholeMonths(start, end Date) int {
	next := end.AddDays(1)
	if next.Before(start) {
		return 0
	}
	// Calendar-month difference, then correct: AddMonthsClamped(start, n) is increasing in n.
	n := (next.Year-start.Year)*12 + int(next.Month) - int(start.Month)
	for n > 0 && next.Before(start.AddMonthsClamped(n)) {
		n--
	}
	for !next.Before(start.AddMonthsClamped(n + 1)) {
		n++
	}
	return n
}

// FormLine renders the entry's line in the form's own style:
// "2024.03—2024.04 在中央党校（国家行政学院）中青年干部培训班脱产培训" (start YYYY.MM — end YYYY.MM, "在" institution,
// course title, "脱产培训"). Decide what to do with a missing institution and document it.
//
// Choices (docs/rules.md): without an institution the “在…” part is left out
// ("2024.03—2024.04 中青年干部培训班脱产培训"); without a course title the institution is followed
// directly by the suffix ("… 在中央党校脱产培训"); a record that is not full-time ends in "培训", not
// "脱产培训", so the line never claims a full-time training that was not; a missing date renders as
// "" on its side of the dash. Surrounding spaces of institution and title are trimmed.
func FormLine(r Record) string {
	var b strings.Builder
	b.WriteString(formMonth(r.StartDate))
	b.WriteString("—")
	b.WriteString(formMonth(r.EndDate))
	b.WriteString(" ")
	if inst := strings.TrimSpace(r.Institution); inst != "" {
		b.WriteString("在")
		b.WriteString(inst)
	}
	b.WriteString(strings.TrimSpace(r.CourseTitle))
	if r.FullTime {
		b.WriteString("脱产培训")
	} else {
		b.WriteString("培训")
	}
	return b.String()
}

// formMonth is the form's YYYY.MM.
func formMonth(d Date) string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d.%02d", d.Year, int(d.Month))
}
