package training

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Cadre is a cadre's profile. Rank is the current rank code; RankHistory holds every rank with the
// date it took effect, oldest first (docs/rules.md §1: “Rank changes are kept as history with an effective date.”).
type Cadre struct {
	ID               string       `json:"cadre_id"`
	Name             string       `json:"name"`
	Unit             string       `json:"unit"`
	Rank             string       `json:"rank"`
	RankTitle        string       `json:"rank_title"`
	Category         string       `json:"category"`
	RankHistory      []RankChange `json:"rank_history"`
	LeadershipMember bool         `json:"leadership_member"`
	// LeadershipHistory holds the terms in a leadership team (领导班子), oldest first; the last
	// may be open. LeadershipMember is whether a term is open today (docs/rules.md "Leadership terms").
	LeadershipHistory []LeadershipTerm `json:"leadership_history,omitempty"`
	JoinedOn          Date             `json:"joined_on,omitzero"`
	// Corrections are the HR corrections of the dated histories, oldest first, kept for good.
	Corrections []ProfileCorrection `json:"corrections,omitempty"`
	CreatedAt   time.Time           `json:"created_at"`
	UpdatedAt   time.Time           `json:"updated_at"`
	// Version is the optimistic-concurrency version: 1 after creation, +1 per update.
	Version int64 `json:"version"`
}

// RankChange is one entry of the rank history.
type RankChange struct {
	Rank        string `json:"rank"`
	EffectiveOn Date   `json:"effective_on"`
}

// Kind is the kind of a training record.
type Kind string

const (
	KindCentralized Kind = "centralized" // 集中培训
	KindOnline      Kind = "online"      // 网络自学
)

// Assessment is the result of a training's assessment.
type Assessment string

const (
	AssessmentNone   Assessment = ""
	AssessmentPassed Assessment = "passed"
	AssessmentFailed Assessment = "failed" // 学时不予认定: does not count
)

// RecordStatus is whether a record counts.
type RecordStatus string

const (
	StatusActive RecordStatus = "active"
	StatusVoided RecordStatus = "voided"
)

// Voiding says who withdrew something, when and why.
type Voiding struct {
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// Record is one training record of a cadre: a centralized training (集中培训) or online
// self-study (网络自学). Records are never deleted; voiding marks them.
//
// (Source, ExternalID) is the idempotency key: Source is the namespace ("platform/<id>" for a
// platform's webhook, "hr/<key id>" for self-study posted by an HR system) and ExternalID the
// platform's event_id or the request's Idempotency-Key.
type Record struct {
	ID              string `json:"record_id"`
	CadreID         string `json:"cadre_id"`
	Source          string `json:"source"`
	ExternalID      string `json:"external_id"`
	SourceSystem    string `json:"source_system,omitempty"`
	Kind            Kind   `json:"kind"`
	FullTime        bool   `json:"full_time"`
	CourseID        string `json:"course_id,omitempty"`
	CourseTitle     string `json:"course_title,omitempty"`
	Institution     string `json:"institution,omitempty"`
	InstitutionType string `json:"institution_type,omitempty"`
	StartDate       Date   `json:"start_date,omitzero"`
	EndDate         Date   `json:"end_date,omitzero"`
	Days            Days   `json:"days"` // effective days (half-day steps): as sent, or the inclusive span
	Hours           Hours  `json:"hours"`
	StudiedOn       Date   `json:"studied_on,omitzero"`
	// DurationMinutes is an online course's length as its platform reports it (optional); a
	// crediting overlay may credit 学时 by it (docs/rules.md “Local crediting overlays”).
	DurationMinutes int        `json:"duration_minutes,omitempty"`
	CompletedAt     time.Time  `json:"completed_at,omitzero"`
	Assessment      Assessment `json:"assessment,omitempty"`
	// Supersedes is the event id (same source) of the record this one replaces; that record is
	// voided when this one is stored (docs/rules.md "One training, one count").
	Supersedes  string       `json:"supersedes,omitempty"`
	Status      RecordStatus `json:"status"`
	Void        *Voiding     `json:"void,omitempty"`
	ContentHash string       `json:"content_hash"`
	CreatedAt   time.Time    `json:"created_at"`
	// Flags are derived when the archive is read (RecordFlags), from the cadre's other records;
	// they are never stored and not part of the content.
	Flags []Flag `json:"flags,omitempty"`
}

// AttributionDate is the date that places a record in a window. docs/rules.md §2: “end_date for
// centralized training, studied_on (or the date of completed_at in China Standard Time, UTC+8)
// for online study.”
func (r Record) AttributionDate() Date {
	if r.Kind == KindCentralized {
		return r.EndDate
	}
	if !r.StudiedOn.IsZero() {
		return r.StudiedOn
	}
	return DateInCST(r.CompletedAt)
}

// Counts reports whether the record counts toward any quota. docs/rules.md §2 “What does not count:
// voided records; records whose assessment is failed (学时不予认定)”.
func (r Record) Counts() bool {
	return r.Status != StatusVoided && r.Assessment != AssessmentFailed
}

// RecordID derives the record id from its idempotency key, so that concurrent creates of the
// same key address the same record.
func RecordID(source, externalID string) string {
	sum := sha256.Sum256([]byte(source + "\x00" + externalID))
	return "r_" + hex.EncodeToString(sum[:12])
}

// Seal sets r.ID and r.ContentHash from the record's key and content. The hash covers what the
// source sent (not the status, voiding or creation time), so a replay with the same content is a
// duplicate and one with other content a conflict. completed_at counts as an instant: the same
// moment written with another UTC offset is the same content.
func (r *Record) Seal() {
	r.ID = RecordID(r.Source, r.ExternalID)
	c := *r
	c.ID, c.Status, c.Void, c.ContentHash, c.CreatedAt, c.Flags = "", "", nil, "", time.Time{}, nil
	c.CompletedAt = c.CompletedAt.UTC() // the same instant in another offset is the same content
	b, _ := json.Marshal(c)             // struct of plain fields: cannot fail
	sum := sha256.Sum256(b)
	r.ContentHash = hex.EncodeToString(sum[:])
}

// CheckSealed is the one check both stores make before creating a record: it has a cadre id and
// was sealed by Seal for its key (a record changed after sealing, or never sealed, is EINVALID).
func (r Record) CheckSealed() error {
	var f Fields
	CheckID(&f, "cadre_id", r.CadreID)
	if err := f.Err(); err != nil {
		return err
	}
	if r.ID == "" || r.ID != RecordID(r.Source, r.ExternalID) || r.ContentHash == "" {
		return Errorf(EINVALID, "record is not sealed")
	}
	sealed := r
	sealed.Seal()
	if sealed.ContentHash != r.ContentHash {
		return Errorf(EINVALID, "record changed after it was sealed")
	}
	return nil
}

// State of a requirement or of a cadre overall (docs/rules.md §3).
type State string

const (
	StateMet     State = "met"
	StateUnmet   State = "unmet"
	StateAtRisk  State = "at_risk"
	StateOnTrack State = "on_track"
)

// Window is an inclusive date range.
type Window struct {
	Start Date `json:"start"`
	End   Date `json:"end"`
}

// Contains reports whether d is within the window.
func (w Window) Contains(d Date) bool { return !d.Before(w.Start) && !d.After(w.End) }

// Days is the number of days in the window.
func (w Window) Days() int { return w.Start.DaysThrough(w.End) }

// Measures is an amount in days and/or 学时; a nil field is a measure that does not apply.
type Measures struct {
	Days  *Days  `json:"days,omitempty"`
	Hours *Hours `json:"hours,omitempty"`
}

// RequirementStatus is one requirement evaluated as of a date.
type RequirementStatus struct {
	ID        string   `json:"id"`
	Window    Window   `json:"window"`
	Target    Measures `json:"target"`
	Achieved  Measures `json:"achieved"`
	Remaining Measures `json:"remaining"`
	State     State    `json:"state"`
	Deadline  Date     `json:"deadline"`
	// Trigger is the promotion or joining that opened an after_promotion / after_joining window.
	Trigger *Trigger `json:"trigger,omitempty"`
	// CountedFrom, when set, is where counting starts if not at the window start (training on
	// promotion also counts the years before the promotion).
	CountedFrom Date `json:"counted_from,omitzero"`
	// Prorated explains a target pro-rated for a cadre who joined (or came under the category)
	// after the window started; Target is then the pro-rated figure.
	Prorated *Proration `json:"prorated,omitempty"`
	// Crediting shows what the unit's crediting overlay did to the 学时.
	Crediting *CreditingApplied `json:"crediting,omitempty"`
	// Explain lists the records that counted and those that did not, with the reason; filled by
	// Evaluate, shown only on request (quota-status?explain=true), never stored.
	Explain *Explanation `json:"explain,omitempty"`
}

// Trigger is the event that opened a requirement's window.
type Trigger struct {
	Event    string `json:"event"` // "promotion" or "joined"
	On       Date   `json:"on"`
	Rank     string `json:"rank,omitempty"`      // promotion: the rank promoted to
	FromRank string `json:"from_rank,omitempty"` // promotion: the rank before
}

// Proration is how a window's target was pro-rated (docs/rules.md “Mid-year joiners and transfers”).
type Proration struct {
	Reason   string `json:"reason"` // "joined", "category_changed" or "in_office"
	From     Date   `json:"from"`
	Months   int    `json:"months"`    // whole calendar months from From to the window end (in_office: in office)
	OfMonths int    `json:"of_months"` // whole calendar months of the window
	// Days and OfDays: in_office only, the days of the window in a leadership team and the days
	// of the window; the target is pro-rated on these (docs/rules.md "Leadership terms").
	Days       int      `json:"days,omitempty"`
	OfDays     int      `json:"of_days,omitempty"`
	FullTarget Measures `json:"full_target"`
}

// CreditingApplied is what an overlay did to a requirement's 学时.
type CreditingApplied struct {
	Overlay       string `json:"overlay"`
	HoursAsSent   Hours  `json:"hours_as_sent"`
	HoursCredited Hours  `json:"hours_credited"` // before carry-over
	CarriedOver   *Hours `json:"carried_over,omitempty"`
}

// Status is a cadre's quota status as of a date (docs/rules.md §3); stored as the snapshot.
type Status struct {
	CadreID                    string              `json:"cadre_id"`
	AsOf                       Date                `json:"as_of"`
	Policy                     string              `json:"policy"`
	Category                   string              `json:"category"`
	Overlay                    string              `json:"overlay,omitempty"` // the crediting overlay applied, if any
	Overall                    State               `json:"overall"`
	AppraisalExcellentEligible bool                `json:"appraisal_excellent_eligible"`
	Requirements               []RequirementStatus `json:"requirements"`
	// Flags counts the cadre's flagged records (not voided, attributed in the plan period of
	// AsOf on or before it) per flag (docs/rules.md "Anomalies: flags").
	Flags      map[Flag]int `json:"flags,omitempty"`
	ComputedAt time.Time    `json:"computed_at"`
}

// WithoutExplain returns s without the per-requirement explanations (what is stored and shown
// unless explain=true was asked).
func (s Status) WithoutExplain() Status {
	rs := make([]RequirementStatus, len(s.Requirements))
	for i, r := range s.Requirements {
		r.Explain = nil
		rs[i] = r
	}
	s.Requirements = rs
	return s
}

// FormKind names a cadre form that training is entered into (docs/rules.md §4).
type FormKind string

const (
	FormAppraisal   FormKind = "appraisal"   // 干部年度考核登记表
	FormAppointment FormKind = "appointment" // 干部任免审批表
)

// EntryStatus is whether a form entry stands.
type EntryStatus string

const (
	EntryActive    EntryStatus = "active"
	EntryWithdrawn EntryStatus = "withdrawn"
)

// FormEntry is a training entered into a cadre form. Key: (CadreID, Form, RecordID).
type FormEntry struct {
	CadreID     string      `json:"cadre_id"`
	Form        FormKind    `json:"form"`
	Year        int         `json:"year,omitempty"` // appraisal form: the year of end_date
	RecordID    string      `json:"record_id"`
	StartDate   Date        `json:"start_date"`
	EndDate     Date        `json:"end_date"`
	Months      int         `json:"months"`
	Institution string      `json:"institution"`
	CourseTitle string      `json:"course_title"`
	Assessment  Assessment  `json:"assessment,omitempty"`
	Line        string      `json:"line"`
	Status      EntryStatus `json:"status"`
	Withdrawal  *Voiding    `json:"withdrawal,omitempty"`
	EnteredAt   time.Time   `json:"entered_at"`
}

// ChangeKind is what happened to a record.
type ChangeKind string

const (
	ChangeInsert ChangeKind = "INSERT"
	ChangeModify ChangeKind = "MODIFY"
)

// Change is one entry of the record change feed: what the DynamoDB stream carries in AWS.
type Change struct {
	Seq      string     `json:"seq"`
	Kind     ChangeKind `json:"kind"`
	CadreID  string     `json:"cadre_id"`
	RecordID string     `json:"record_id"`
	Old      *Record    `json:"old,omitempty"`
	New      *Record    `json:"new,omitempty"`
	At       time.Time  `json:"at"`
	// Undecodable, when set, says why the feed entry Seq could not be decoded (a poison entry):
	// only Seq is meaningful then. Consumers dead-letter it alone and go on.
	Undecodable string `json:"undecodable,omitempty"`
}
