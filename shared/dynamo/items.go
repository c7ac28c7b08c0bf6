package dynamo

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cadre-training/cadretrain/shared/training"
)

// Attribute names and key shapes. docs/dynamodb.md describes every item type.
const (
	attrPK     = "pk"
	attrSK     = "sk"
	attrType   = "type"
	attrGSI1PK = "gsi1pk"
	attrGSI1SK = "gsi1sk"
	attrGSI2PK = "gsi2pk"
	attrGSI2SK = "gsi2sk"

	// gsi1 lists cadres by unit subtree.
	indexGSI1 = "gsi1"
	// gsi2 lists a year's report facts by unit subtree, keys only.
	indexGSI2 = "gsi2"

	typeCadre     = "cadre"
	typeRecord    = "record"
	typeRecordKey = "record_key"
	typeStatus    = "status"
	typeFormEntry = "form_entry"

	cadrePrefix   = "CADRE#"
	recordPrefix  = "REC#"
	formPrefix    = "FORM#"
	keyPrefix     = "RECORD#"
	skProfile     = "PROFILE"
	skStatus      = "STATUS"
	skRecordKey   = "KEY"
	gsi1PKCadres  = "CADRES" // the index partition of every cadre before sharding (docs/dynamodb.md, migration)
	unitSeparator = "\x1f"   // ASCII unit separator: sorts below every printable character
)

func cadrePK(cadreID string) string              { return cadrePrefix + cadreID }
func recordSK(recordID string) string            { return recordPrefix + recordID }
func recordKeyPK(recordID string) string         { return keyPrefix + recordID }
func formSKPrefix(form training.FormKind) string { return formPrefix + string(form) + "#" }
func formSK(form training.FormKind, recordID string) string {
	return formSKPrefix(form) + recordID
}

// cadreGSI1SK places a cadre in the unit index: its unit, the separator \x1f, its id. The
// separator sorts below every character a unit holds, so the index order is exactly by unit (as
// strings), then by id. A unit subtree P is two ranges of that order: the unit itself,
// begins_with(P+"\x1f"), and its descendants, begins_with(P+"/"), the first wholly before the
// second; the "/" keeps "cn/cqx" out of "cn/cq". (The one range begins_with(P) would let "cn/cqx"
// in, and a path ending in "/" for every key would order "cn/cq/a" before "cn/cq-old".)
func cadreGSI1SK(unit, id string) string { return unit + unitSeparator + id }

// Times are stored as RFC 3339 strings with nanoseconds (UTC offset kept); the zero time is omitted.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("dynamo: stored %s %q: %w", field, s, err)
	}
	return t, nil
}

func parseDate(field, s string) (training.Date, error) {
	if s == "" {
		return training.Date{}, nil
	}
	d, err := training.ParseDate(s)
	if err != nil {
		return training.Date{}, fmt.Errorf("dynamo: stored %s %q: %w", field, s, err)
	}
	return d, nil
}

// 学时 are stored as DynamoDB numbers, which are exact decimals: "64.5", never a float.
func hoursNumber(h training.Hours) attributevalue.Number { return attributevalue.Number(h.String()) }

func parseHours(field string, n attributevalue.Number) (training.Hours, error) {
	if n == "" {
		return 0, nil
	}
	h, err := training.ParseHours(string(n))
	if err != nil {
		return 0, fmt.Errorf("dynamo: stored %s %q: %w", field, n, err)
	}
	return h, nil
}

type voidItem struct {
	Reason string `dynamodbav:"reason"`
	By     string `dynamodbav:"by"`
	At     string `dynamodbav:"at,omitempty"`
}

func toVoidItem(v *training.Voiding) *voidItem {
	if v == nil {
		return nil
	}
	return &voidItem{Reason: v.Reason, By: v.By, At: fmtTime(v.At)}
}

func (v *voidItem) voiding(field string) (*training.Voiding, error) {
	if v == nil {
		return nil, nil
	}
	at, err := parseTime(field+".at", v.At)
	if err != nil {
		return nil, err
	}
	return &training.Voiding{Reason: v.Reason, By: v.By, At: at}, nil
}

// ---- cadre: pk CADRE#<id>, sk PROFILE

type rankChangeItem struct {
	Rank        string `dynamodbav:"rank"`
	EffectiveOn string `dynamodbav:"effective_on,omitempty"`
}

type cadreItem struct {
	PK               string           `dynamodbav:"pk"`
	SK               string           `dynamodbav:"sk"`
	Type             string           `dynamodbav:"type"`
	GSI1PK           string           `dynamodbav:"gsi1pk"`
	GSI1SK           string           `dynamodbav:"gsi1sk"`
	ID               string           `dynamodbav:"cadre_id"`
	Name             string           `dynamodbav:"name"`
	Unit             string           `dynamodbav:"unit"`
	Rank             string           `dynamodbav:"rank"`
	RankTitle        string           `dynamodbav:"rank_title"`
	Category         string           `dynamodbav:"category"`
	RankHistory      []rankChangeItem `dynamodbav:"rank_history"`
	LeadershipMember bool             `dynamodbav:"leadership_member"`
	LeadershipTerms  []termItem       `dynamodbav:"leadership_history,omitempty"`
	Corrections      []correctionItem `dynamodbav:"corrections,omitempty"`
	JoinedOn         string           `dynamodbav:"joined_on,omitempty"`
	CreatedAt        string           `dynamodbav:"created_at,omitempty"`
	UpdatedAt        string           `dynamodbav:"updated_at,omitempty"`
	Version          int64            `dynamodbav:"version"`
}

type termItem struct {
	AppointedOn string `dynamodbav:"appointed_on"`
	LeftOn      string `dynamodbav:"left_on,omitempty"`
}

// correctionItem keeps a correction's before and after as their JSON text.
type correctionItem struct {
	Field  string `dynamodbav:"field"`
	Before string `dynamodbav:"before"`
	After  string `dynamodbav:"after"`
	Reason string `dynamodbav:"reason"`
	By     string `dynamodbav:"by"`
	At     string `dynamodbav:"at"`
}

func toCadreItem(c training.Cadre) cadreItem {
	it := cadreItem{
		PK: cadrePK(c.ID), SK: skProfile, Type: typeCadre,
		GSI1PK: shardPK(cadreShard(c.ID)), GSI1SK: cadreGSI1SK(c.Unit, c.ID),
		ID: c.ID, Name: c.Name, Unit: c.Unit, Rank: c.Rank, RankTitle: c.RankTitle, Category: c.Category,
		LeadershipMember: c.LeadershipMember, JoinedOn: c.JoinedOn.String(),
		CreatedAt: fmtTime(c.CreatedAt), UpdatedAt: fmtTime(c.UpdatedAt), Version: c.Version,
	}
	if c.RankHistory != nil {
		it.RankHistory = make([]rankChangeItem, len(c.RankHistory))
		for i, h := range c.RankHistory {
			it.RankHistory[i] = rankChangeItem{Rank: h.Rank, EffectiveOn: h.EffectiveOn.String()}
		}
	}
	for _, t := range c.LeadershipHistory {
		it.LeadershipTerms = append(it.LeadershipTerms, termItem{AppointedOn: t.AppointedOn.String(), LeftOn: t.LeftOn.String()})
	}
	for _, k := range c.Corrections {
		it.Corrections = append(it.Corrections, correctionItem{Field: k.Field, Before: string(k.Before), After: string(k.After),
			Reason: k.Reason, By: k.By, At: fmtTime(k.At)})
	}
	return it
}

func (it cadreItem) cadre() (training.Cadre, error) {
	c := training.Cadre{
		ID: it.ID, Name: it.Name, Unit: it.Unit, Rank: it.Rank, RankTitle: it.RankTitle,
		Category: it.Category, LeadershipMember: it.LeadershipMember, Version: it.Version,
	}
	var err error
	if c.JoinedOn, err = parseDate("joined_on", it.JoinedOn); err != nil {
		return c, err
	}
	if c.CreatedAt, err = parseTime("created_at", it.CreatedAt); err != nil {
		return c, err
	}
	if c.UpdatedAt, err = parseTime("updated_at", it.UpdatedAt); err != nil {
		return c, err
	}
	if it.RankHistory != nil {
		c.RankHistory = make([]training.RankChange, len(it.RankHistory))
		for i, h := range it.RankHistory {
			d, err := parseDate("rank_history.effective_on", h.EffectiveOn)
			if err != nil {
				return c, err
			}
			c.RankHistory[i] = training.RankChange{Rank: h.Rank, EffectiveOn: d}
		}
	}
	for _, t := range it.LeadershipTerms {
		var term training.LeadershipTerm
		if term.AppointedOn, err = parseDate("leadership_history.appointed_on", t.AppointedOn); err != nil {
			return c, err
		}
		if term.LeftOn, err = parseDate("leadership_history.left_on", t.LeftOn); err != nil {
			return c, err
		}
		c.LeadershipHistory = append(c.LeadershipHistory, term)
	}
	for _, k := range it.Corrections {
		at, err := parseTime("corrections.at", k.At)
		if err != nil {
			return c, err
		}
		c.Corrections = append(c.Corrections, training.ProfileCorrection{Field: k.Field, Before: json.RawMessage(k.Before),
			After: json.RawMessage(k.After), Reason: k.Reason, By: k.By, At: at})
	}
	return c, nil
}

// ---- record: pk CADRE#<cadre id>, sk REC#<record id>

type recordItem struct {
	PK              string                `dynamodbav:"pk"`
	SK              string                `dynamodbav:"sk"`
	Type            string                `dynamodbav:"type"`
	ID              string                `dynamodbav:"record_id"`
	CadreID         string                `dynamodbav:"cadre_id"`
	Source          string                `dynamodbav:"source"`
	ExternalID      string                `dynamodbav:"external_id"`
	SourceSystem    string                `dynamodbav:"source_system,omitempty"`
	Kind            string                `dynamodbav:"kind"`
	FullTime        bool                  `dynamodbav:"full_time"`
	CourseID        string                `dynamodbav:"course_id,omitempty"`
	CourseTitle     string                `dynamodbav:"course_title,omitempty"`
	Institution     string                `dynamodbav:"institution,omitempty"`
	InstitutionType string                `dynamodbav:"institution_type,omitempty"`
	DurationMinutes int                   `dynamodbav:"duration_minutes,omitempty"`
	StartDate       string                `dynamodbav:"start_date,omitempty"`
	EndDate         string                `dynamodbav:"end_date,omitempty"`
	Days            attributevalue.Number `dynamodbav:"days"` // 3 or 2.5 (half days); items of whole days read unchanged
	Hours           attributevalue.Number `dynamodbav:"hours"`
	StudiedOn       string                `dynamodbav:"studied_on,omitempty"`
	CompletedAt     string                `dynamodbav:"completed_at,omitempty"`
	Assessment      string                `dynamodbav:"assessment,omitempty"`
	Supersedes      string                `dynamodbav:"supersedes,omitempty"`
	Status          string                `dynamodbav:"status"`
	Void            *voidItem             `dynamodbav:"void,omitempty"`
	ContentHash     string                `dynamodbav:"content_hash"`
	CreatedAt       string                `dynamodbav:"created_at,omitempty"`
}

func toRecordItem(r training.Record) recordItem {
	return recordItem{
		PK: cadrePK(r.CadreID), SK: recordSK(r.ID), Type: typeRecord,
		ID: r.ID, CadreID: r.CadreID, Source: r.Source, ExternalID: r.ExternalID,
		SourceSystem: r.SourceSystem, Kind: string(r.Kind), FullTime: r.FullTime,
		CourseID: r.CourseID, CourseTitle: r.CourseTitle, Institution: r.Institution,
		InstitutionType: r.InstitutionType, StartDate: r.StartDate.String(), EndDate: r.EndDate.String(),
		Days: attributevalue.Number(r.Days.String()), Hours: hoursNumber(r.Hours), StudiedOn: r.StudiedOn.String(), DurationMinutes: r.DurationMinutes,
		CompletedAt: fmtTime(r.CompletedAt), Assessment: string(r.Assessment), Supersedes: r.Supersedes, Status: string(r.Status),
		Void: toVoidItem(r.Void), ContentHash: r.ContentHash, CreatedAt: fmtTime(r.CreatedAt),
	}
}

func (it recordItem) record() (training.Record, error) {
	r := training.Record{
		ID: it.ID, CadreID: it.CadreID, Source: it.Source, ExternalID: it.ExternalID,
		SourceSystem: it.SourceSystem, Kind: training.Kind(it.Kind), FullTime: it.FullTime,
		CourseID: it.CourseID, CourseTitle: it.CourseTitle, Institution: it.Institution,
		InstitutionType: it.InstitutionType, DurationMinutes: it.DurationMinutes, Assessment: training.Assessment(it.Assessment), Supersedes: it.Supersedes,
		Status: training.RecordStatus(it.Status), ContentHash: it.ContentHash,
	}
	var err error
	if r.StartDate, err = parseDate("start_date", it.StartDate); err != nil {
		return r, err
	}
	if r.EndDate, err = parseDate("end_date", it.EndDate); err != nil {
		return r, err
	}
	if r.StudiedOn, err = parseDate("studied_on", it.StudiedOn); err != nil {
		return r, err
	}
	if r.Hours, err = parseHours("hours", it.Hours); err != nil {
		return r, err
	}
	if it.Days != "" {
		if r.Days, err = training.ParseDays(string(it.Days)); err != nil {
			return r, fmt.Errorf("dynamo: stored days %q: %w", it.Days, err)
		}
	}
	if r.CompletedAt, err = parseTime("completed_at", it.CompletedAt); err != nil {
		return r, err
	}
	if r.CreatedAt, err = parseTime("created_at", it.CreatedAt); err != nil {
		return r, err
	}
	if r.Void, err = it.Void.voiding("void"); err != nil {
		return r, err
	}
	return r, nil
}

func marshalRecord(r training.Record) (map[string]types.AttributeValue, error) {
	m, err := attributevalue.MarshalMap(toRecordItem(r))
	if err != nil {
		return nil, fmt.Errorf("dynamo: marshal record %q: %w", r.ID, err)
	}
	return m, nil
}

func unmarshalRecord(m map[string]types.AttributeValue) (training.Record, error) {
	var it recordItem
	if err := attributevalue.UnmarshalMap(m, &it); err != nil {
		return training.Record{}, fmt.Errorf("dynamo: unmarshal record: %w", err)
	}
	return it.record()
}

// ---- record key: pk RECORD#<record id>, sk KEY. The record id is derived from the idempotency
// key (Source, ExternalID), so this item is the idempotency key; it points at the record's
// cadre partition and keeps the content hash for duplicate-vs-conflict.

type recordKeyItem struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	Type        string `dynamodbav:"type"`
	ID          string `dynamodbav:"record_id"`
	CadreID     string `dynamodbav:"cadre_id"`
	Source      string `dynamodbav:"source"`
	ExternalID  string `dynamodbav:"external_id"`
	ContentHash string `dynamodbav:"content_hash"`
}

// ---- status snapshot: pk CADRE#<id>, sk STATUS. The Status is kept whole as its JSON
// document (exact 学时, dates as YYYY-MM-DD); a few fields are copied out for operators and the
// ComputedAt condition.

type statusItem struct {
	PK           string `dynamodbav:"pk"`
	SK           string `dynamodbav:"sk"`
	Type         string `dynamodbav:"type"`
	CadreID      string `dynamodbav:"cadre_id"`
	AsOf         string `dynamodbav:"as_of,omitempty"`
	Policy       string `dynamodbav:"policy,omitempty"`
	Overall      string `dynamodbav:"overall,omitempty"`
	ComputedAt   string `dynamodbav:"computed_at,omitempty"`
	ComputedAtNS int64  `dynamodbav:"computed_at_ns"`
	// StatusHash is the SHA-256 of the status without ComputedAt: an unchanged status is not
	// written again.
	StatusHash string `dynamodbav:"status_hash"`
	Doc        string `dynamodbav:"doc"`
}

func toStatusItem(s training.Status) (statusItem, error) {
	doc, err := json.Marshal(s)
	if err != nil {
		return statusItem{}, fmt.Errorf("dynamo: encode status of %q: %w", s.CadreID, err)
	}
	bare := s
	bare.ComputedAt = time.Time{}
	body, _ := json.Marshal(bare) // encoded just above: cannot fail
	sum := sha256.Sum256(body)
	return statusItem{
		StatusHash: hex.EncodeToString(sum[:]),
		PK:         cadrePK(s.CadreID), SK: skStatus, Type: typeStatus, CadreID: s.CadreID,
		AsOf: s.AsOf.String(), Policy: s.Policy, Overall: string(s.Overall),
		ComputedAt: fmtTime(s.ComputedAt), ComputedAtNS: s.ComputedAt.UnixNano(), Doc: string(doc),
	}, nil
}

// ---- form entry: pk CADRE#<id>, sk FORM#<form>#<record id>

type formEntryItem struct {
	PK          string    `dynamodbav:"pk"`
	SK          string    `dynamodbav:"sk"`
	Type        string    `dynamodbav:"type"`
	CadreID     string    `dynamodbav:"cadre_id"`
	Form        string    `dynamodbav:"form"`
	Year        int       `dynamodbav:"year,omitempty"`
	RecordID    string    `dynamodbav:"record_id"`
	StartDate   string    `dynamodbav:"start_date,omitempty"`
	EndDate     string    `dynamodbav:"end_date,omitempty"`
	Months      int       `dynamodbav:"months"`
	Institution string    `dynamodbav:"institution"`
	CourseTitle string    `dynamodbav:"course_title"`
	Assessment  string    `dynamodbav:"assessment,omitempty"`
	Line        string    `dynamodbav:"line"`
	Status      string    `dynamodbav:"status"`
	Withdrawal  *voidItem `dynamodbav:"withdrawal,omitempty"`
	EnteredAt   string    `dynamodbav:"entered_at,omitempty"`
}

func toFormEntryItem(e training.FormEntry) formEntryItem {
	return formEntryItem{
		PK: cadrePK(e.CadreID), SK: formSK(e.Form, e.RecordID), Type: typeFormEntry,
		CadreID: e.CadreID, Form: string(e.Form), Year: e.Year, RecordID: e.RecordID,
		StartDate: e.StartDate.String(), EndDate: e.EndDate.String(), Months: e.Months,
		Institution: e.Institution, CourseTitle: e.CourseTitle, Assessment: string(e.Assessment),
		Line: e.Line, Status: string(e.Status), Withdrawal: toVoidItem(e.Withdrawal),
		EnteredAt: fmtTime(e.EnteredAt),
	}
}

func (it formEntryItem) entry() (training.FormEntry, error) {
	e := training.FormEntry{
		CadreID: it.CadreID, Form: training.FormKind(it.Form), Year: it.Year, RecordID: it.RecordID,
		Months: it.Months, Institution: it.Institution, CourseTitle: it.CourseTitle,
		Assessment: training.Assessment(it.Assessment), Line: it.Line, Status: training.EntryStatus(it.Status),
	}
	var err error
	if e.StartDate, err = parseDate("start_date", it.StartDate); err != nil {
		return e, err
	}
	if e.EndDate, err = parseDate("end_date", it.EndDate); err != nil {
		return e, err
	}
	if e.EnteredAt, err = parseTime("entered_at", it.EnteredAt); err != nil {
		return e, err
	}
	if e.Withdrawal, err = it.Withdrawal.voiding("withdrawal"); err != nil {
		return e, err
	}
	return e, nil
}

// itemType returns the item's type attribute ("" if absent).
func itemType(m map[string]types.AttributeValue) string {
	if s, ok := m[attrType].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}
