package bolt

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/cadre-training/cadretrain/shared/training"
)

// The binary value encoding (format 2). Every value starts with a version byte (codecV1) so the
// encoding can evolve; a value starting with '{' is the JSON of format 1 and is still read.
// Strings are a uvarint length and the bytes; ids and hashes of lowercase hex are stored as
// their bytes (tagged); dates are one signed varint yyyymmdd (0 = zero date); times are a tag
// (0 zero, 1 UTC, 2 with a fixed offset), unix seconds (varint), nanoseconds (uvarint) and the
// offset in seconds (varint, tag 2 only).
const codecV1 = 1

// Records have their own version since half days (docs/rules.md “Half days”): recordV2 stores
// Days as a count of half days; a record of recordV1 (codecV1) stored whole days and is still read
// (3 stored → 3 days). The layout is otherwise the same.
const (
	recordV1 = codecV1
	recordV2 = 2
)

var errShort = errors.New("value is truncated")

type enc struct{ b []byte }

func (e *enc) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) byte1(v byte)     { e.b = append(e.b, v) }
func (e *enc) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) bytes(p []byte)   { e.uvarint(uint64(len(p))); e.b = append(e.b, p...) }

func (e *enc) boolean(v bool) {
	if v {
		e.byte1(1)
	} else {
		e.byte1(0)
	}
}

// compact stores s, as bytes when it is lowercase hex (tag 2) or "r_" + lowercase hex (tag 1).
func (e *enc) compact(s string) {
	for _, p := range []struct {
		tag    byte
		prefix string
	}{{1, "r_"}, {2, ""}} {
		if len(s) > len(p.prefix) && s[:len(p.prefix)] == p.prefix && isLowerHex(s[len(p.prefix):]) {
			e.byte1(p.tag)
			raw, _ := hex.DecodeString(s[len(p.prefix):])
			e.bytes(raw)
			return
		}
	}
	e.byte1(0)
	e.str(s)
}

func isLowerHex(s string) bool {
	if len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (e *enc) date(d training.Date) {
	if d.IsZero() {
		e.varint(0)
		return
	}
	e.varint(int64(d.Year)*10000 + int64(d.Month)*100 + int64(d.Day))
}

func (e *enc) time(t time.Time) {
	if t.IsZero() {
		e.byte1(0)
		return
	}
	_, off := t.Zone()
	if off == 0 {
		e.byte1(1)
	} else {
		e.byte1(2)
	}
	e.varint(t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
	if off != 0 {
		e.varint(int64(off))
	}
}

const hexDigits = "0123456789abcdef"

type dec struct {
	b   []byte
	err error
	// s, when set, is the whole value as one string (n bytes) that str slices instead of
	// allocating each string field: a record is decoded with one allocation for its strings.
	s string
	n int
}

func (d *dec) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

func (d *dec) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) byte1() byte {
	if len(d.b) == 0 {
		d.fail(errShort)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *dec) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail(errShort)
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) str() string {
	v := d.bytes()
	if d.s == "" || len(v) == 0 {
		return string(v)
	}
	end := d.n - len(d.b)
	return d.s[end-len(v) : end]
}

// enum reads a string that is usually one of known, returning the constant (no allocation).
func (d *dec) enum(known ...string) string {
	b := d.bytes()
	for _, k := range known {
		if string(b) == k {
			return k
		}
	}
	return string(b)
}

func (d *dec) boolean() bool {
	switch d.byte1() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail(errors.New("bad boolean"))
	return false
}

func (d *dec) compact() string {
	switch tag := d.byte1(); tag {
	case 0:
		return d.str()
	case 1:
		raw := d.bytes()
		var sb strings.Builder
		sb.Grow(2 + 2*len(raw))
		sb.WriteString("r_")
		for _, c := range raw {
			sb.WriteByte(hexDigits[c>>4])
			sb.WriteByte(hexDigits[c&15])
		}
		return sb.String()
	case 2:
		return hex.EncodeToString(d.bytes())
	default:
		d.fail(fmt.Errorf("bad string tag %d", tag))
		return ""
	}
}

func (d *dec) date() training.Date {
	v := d.varint()
	if v == 0 {
		return training.Date{}
	}
	return training.Date{Year: int(v / 10000), Month: time.Month(v / 100 % 100), Day: int(v % 100)}
}

func (d *dec) time() time.Time {
	tag := d.byte1()
	if tag == 0 {
		return time.Time{}
	}
	if tag > 2 {
		d.fail(fmt.Errorf("bad time tag %d", tag))
		return time.Time{}
	}
	sec, nsec := d.varint(), d.uvarint()
	if nsec >= 1e9 {
		d.fail(errors.New("bad nanoseconds"))
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec)).UTC()
	if tag == 2 {
		t = t.In(time.FixedZone("", int(d.varint())))
	}
	return t
}

// end checks that the whole value was read.
func (d *dec) end(what string) error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return fmt.Errorf("decoding %s: %w", what, d.err)
	}
	return nil
}

// ---- records ----

func appendRecord(b []byte, r *training.Record) []byte {
	e := enc{b}
	e.byte1(recordV2)
	e.compact(r.ID)
	e.str(r.CadreID)
	e.str(r.Source)
	e.str(r.ExternalID)
	e.str(r.SourceSystem)
	e.str(string(r.Kind))
	e.boolean(r.FullTime)
	e.str(r.CourseID)
	e.str(r.CourseTitle)
	e.str(r.Institution)
	e.str(r.InstitutionType)
	e.date(r.StartDate)
	e.date(r.EndDate)
	e.varint(r.Days.Halves())
	e.varint(int64(r.Hours))
	e.date(r.StudiedOn)
	e.time(r.CompletedAt)
	e.str(string(r.Assessment))
	e.str(string(r.Status))
	e.boolean(r.Void != nil)
	if r.Void != nil {
		e.str(r.Void.Reason)
		e.str(r.Void.By)
		e.time(r.Void.At)
	}
	e.compact(r.ContentHash)
	e.time(r.CreatedAt)
	recordExt.append(&e, r)
	return e.b
}

// extension carries the fields of a struct type that its binary codec does not know (added to
// the type after the codec was written), so they are not lost: as a trailing JSON document of a
// value holding only those fields, read back by reflection. A round-trip test fills every field.
type extension[T any] struct {
	extra []int  // indexes of the fields the codec does not know
	zero  []byte // the JSON of a zero T: no extension needed
}

func newExtension[T any](known ...string) extension[T] {
	var x extension[T]
	t := reflect.TypeFor[T]()
	for i := 0; i < t.NumField(); i++ {
		if !slices.Contains(known, t.Field(i).Name) {
			x.extra = append(x.extra, i)
		}
	}
	var zero T
	x.zero, _ = json.Marshal(zero)
	return x
}

// append appends the extension of v, if it has one, as length-prefixed bytes.
func (x extension[T]) append(e *enc, v *T) {
	if len(x.extra) == 0 {
		return
	}
	if b := x.json(v); b != nil {
		e.bytes(b)
	}
}

// json is the JSON of v's extension, nil when it has none.
func (x extension[T]) json(v *T) []byte {
	src := reflect.ValueOf(v).Elem()
	zero := true
	for _, i := range x.extra {
		zero = zero && src.Field(i).IsZero()
	}
	if zero {
		return nil
	}
	var only T
	dst := reflect.ValueOf(&only).Elem()
	for _, i := range x.extra {
		dst.Field(i).Set(src.Field(i))
	}
	b, err := json.Marshal(only)
	if err != nil || bytes.Equal(b, x.zero) {
		return nil
	}
	return b
}

// appendAlways appends v's extension, or an empty one, for a value inside another (where read
// cannot tell an extension from what follows).
func (x extension[T]) appendAlways(e *enc, v *T) { e.bytes(x.json(v)) }

// readAlways reads what appendAlways wrote.
func (x extension[T]) readAlways(d *dec, v *T) {
	if ext := d.bytes(); len(ext) > 0 && d.err == nil {
		x.decode(d, ext, v)
	}
}

// read reads an extension if the value has one left.
func (x extension[T]) read(d *dec, v *T) {
	if len(d.b) == 0 || d.err != nil {
		return
	}
	ext := d.bytes()
	if d.err != nil {
		return
	}
	x.decode(d, ext, v)
}

func (x extension[T]) decode(d *dec, ext []byte, v *T) {
	var only T
	if err := json.Unmarshal(ext, &only); err != nil {
		d.fail(fmt.Errorf("extension: %w", err))
		return
	}
	src, dst := reflect.ValueOf(&only).Elem(), reflect.ValueOf(v).Elem()
	for _, i := range x.extra {
		dst.Field(i).Set(src.Field(i))
	}
}

var recordExt = newExtension[training.Record](
	"ID", "CadreID", "Source", "ExternalID", "SourceSystem", "Kind", "FullTime", "CourseID", "CourseTitle",
	"Institution", "InstitutionType", "StartDate", "EndDate", "Days", "Hours", "StudiedOn", "CompletedAt",
	"Assessment", "Status", "Void", "ContentHash", "CreatedAt")

func encodeRecord(r *training.Record) []byte { return appendRecord(make([]byte, 0, 256), r) }

// decodeRecord reads a record in either encoding.
func decodeRecord(v []byte, r *training.Record) error {
	if len(v) > 0 && v[0] == '{' {
		return jsonDecode(v, r)
	}
	d := dec{b: v, s: string(v), n: len(v)}
	ver := d.byte1()
	if ver != recordV1 && ver != recordV2 && d.err == nil {
		return fmt.Errorf("decoding record: unknown encoding version %d", ver)
	}
	*r = training.Record{
		ID:              d.compact(),
		CadreID:         d.str(),
		Source:          d.str(),
		ExternalID:      d.str(),
		SourceSystem:    d.str(),
		Kind:            training.Kind(d.enum(string(training.KindOnline), string(training.KindCentralized))),
		FullTime:        d.boolean(),
		CourseID:        d.str(),
		CourseTitle:     d.str(),
		Institution:     d.str(),
		InstitutionType: d.str(),
		StartDate:       d.date(),
		EndDate:         d.date(),
		Days:            training.DaysFromHalves(d.varint()),
		Hours:           training.Hours(d.varint()),
		StudiedOn:       d.date(),
		CompletedAt:     d.time(),
		Assessment:      training.Assessment(d.enum("", string(training.AssessmentPassed), string(training.AssessmentFailed))),
		Status:          training.RecordStatus(d.enum(string(training.StatusActive), string(training.StatusVoided))),
	}
	if ver == recordV1 {
		r.Days = training.WholeDays(r.Days.Halves()) // whole days before half days
	}
	if d.boolean() {
		r.Void = &training.Voiding{Reason: d.str(), By: d.str(), At: d.time()}
	}
	r.ContentHash = d.compact()
	r.CreatedAt = d.time()
	recordExt.read(&d, r)
	return d.end("record")
}

// ---- cadres ----

var cadreExt = newExtension[training.Cadre](
	"ID", "Name", "Unit", "Rank", "RankTitle", "Category", "RankHistory", "LeadershipMember", "JoinedOn",
	"CreatedAt", "UpdatedAt", "Version")

func encodeCadre(c *training.Cadre) []byte {
	e := enc{make([]byte, 0, 128)}
	e.byte1(codecV1)
	e.str(c.ID)
	e.str(c.Name)
	e.str(c.Unit)
	e.str(c.Rank)
	e.str(c.RankTitle)
	e.str(c.Category)
	e.boolean(c.RankHistory != nil)
	e.uvarint(uint64(len(c.RankHistory)))
	for _, h := range c.RankHistory {
		e.str(h.Rank)
		e.date(h.EffectiveOn)
	}
	e.boolean(c.LeadershipMember)
	e.date(c.JoinedOn)
	e.time(c.CreatedAt)
	e.time(c.UpdatedAt)
	e.varint(c.Version)
	cadreExt.append(&e, c)
	return e.b
}

// decodeCadre reads a cadre in either encoding.
func decodeCadre(v []byte, c *training.Cadre) error {
	if len(v) > 0 && v[0] == '{' {
		return jsonDecode(v, c)
	}
	d := dec{b: v}
	if ver := d.byte1(); ver != codecV1 && d.err == nil {
		return fmt.Errorf("decoding cadre: unknown encoding version %d", ver)
	}
	*c = training.Cadre{ID: d.str(), Name: d.str(), Unit: d.str(), Rank: d.str(), RankTitle: d.str(), Category: d.str()}
	hasHistory := d.boolean()
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail(errShort)
	}
	if hasHistory && d.err == nil {
		c.RankHistory = make([]training.RankChange, 0, n)
		for i := uint64(0); i < n && d.err == nil; i++ {
			c.RankHistory = append(c.RankHistory, training.RankChange{Rank: d.str(), EffectiveOn: d.date()})
		}
	}
	c.LeadershipMember = d.boolean()
	c.JoinedOn = d.date()
	c.CreatedAt = d.time()
	c.UpdatedAt = d.time()
	c.Version = d.varint()
	cadreExt.read(&d, c)
	return d.end("cadre")
}

// ---- snapshots ----

// A snapshot is the version byte, the length of its body, the body and ComputedAt, so that
// PutSnapshot can tell an unchanged status by comparing bodies (bytes.Equal, nothing decoded).
// statusV1's body was the JSON of the status without ComputedAt (still read); statusV2's is the
// binary encoding below: about a third of the bytes, and no reflection to write or read it. Fields
// added to Status, RequirementStatus, Trigger, Proration or CreditingApplied after this codec was
// written travel in their type's JSON extension (Explain, never stored by a recompute, does too);
// Measures and Window have no room for one: TestStatusCodecKeepsEveryField fails when either grows.
const (
	statusV1 = codecV1
	statusV2 = 2
)

var (
	statusExt = newExtension[training.Status]("CadreID", "AsOf", "Policy", "Category", "Overlay", "Overall",
		"AppraisalExcellentEligible", "Requirements", "Flags", "ComputedAt")
	requirementExt = newExtension[training.RequirementStatus]("ID", "Window", "Target", "Achieved", "Remaining",
		"State", "Deadline", "Trigger", "CountedFrom", "Prorated", "Crediting")
	triggerExt   = newExtension[training.Trigger]("Event", "On", "Rank", "FromRank")
	prorationExt = newExtension[training.Proration]("Reason", "From", "Months", "OfMonths", "Days", "OfDays", "FullTarget")
	creditingExt = newExtension[training.CreditingApplied]("Overlay", "HoursAsSent", "HoursCredited", "CarriedOver")
)

var states = []string{string(training.StateMet), string(training.StateUnmet), string(training.StateAtRisk), string(training.StateOnTrack)}

// appendStatusBody appends the binary body of s: everything but ComputedAt.
func appendStatusBody(b []byte, s *training.Status) []byte {
	e := enc{b}
	e.str(s.CadreID)
	e.date(s.AsOf)
	e.str(s.Policy)
	e.str(s.Category)
	e.str(s.Overlay)
	e.str(string(s.Overall))
	e.boolean(s.AppraisalExcellentEligible)
	e.boolean(s.Requirements != nil) // JSON tells null from []
	e.uvarint(uint64(len(s.Requirements)))
	for i := range s.Requirements {
		e.requirement(&s.Requirements[i])
	}
	// Flags in key order (omitempty: nil and empty are the same document).
	e.uvarint(uint64(len(s.Flags)))
	if len(s.Flags) > 0 {
		keys := make([]string, 0, len(s.Flags))
		for k := range s.Flags {
			keys = append(keys, string(k))
		}
		slices.Sort(keys)
		for _, k := range keys {
			e.str(k)
			e.varint(int64(s.Flags[training.Flag(k)]))
		}
	}
	statusExt.append(&e, s)
	return e.b
}

func (e *enc) requirement(r *training.RequirementStatus) {
	e.str(r.ID)
	e.date(r.Window.Start)
	e.date(r.Window.End)
	e.measures(r.Target)
	e.measures(r.Achieved)
	e.measures(r.Remaining)
	e.str(string(r.State))
	e.date(r.Deadline)
	e.boolean(r.Trigger != nil)
	if t := r.Trigger; t != nil {
		e.str(t.Event)
		e.date(t.On)
		e.str(t.Rank)
		e.str(t.FromRank)
		triggerExt.appendAlways(e, t)
	}
	e.date(r.CountedFrom)
	e.boolean(r.Prorated != nil)
	if p := r.Prorated; p != nil {
		e.str(p.Reason)
		e.date(p.From)
		e.varint(int64(p.Months))
		e.varint(int64(p.OfMonths))
		e.varint(int64(p.Days))
		e.varint(int64(p.OfDays))
		e.measures(p.FullTarget)
		prorationExt.appendAlways(e, p)
	}
	e.boolean(r.Crediting != nil)
	if c := r.Crediting; c != nil {
		e.str(c.Overlay)
		e.varint(int64(c.HoursAsSent))
		e.varint(int64(c.HoursCredited))
		e.optHours(c.CarriedOver)
		creditingExt.appendAlways(e, c)
	}
	requirementExt.appendAlways(e, r)
}

// measures: a byte of which measures are there (1 days, 2 hours), then each.
func (e *enc) measures(m training.Measures) {
	var has byte
	if m.Days != nil {
		has |= 1
	}
	if m.Hours != nil {
		has |= 2
	}
	e.byte1(has)
	if m.Days != nil {
		e.varint(m.Days.Halves())
	}
	if m.Hours != nil {
		e.varint(int64(*m.Hours))
	}
}

func (e *enc) optHours(h *training.Hours) {
	e.boolean(h != nil)
	if h != nil {
		e.varint(int64(*h))
	}
}

func (d *dec) measures() training.Measures {
	var m training.Measures
	has := d.byte1()
	if has > 3 {
		d.fail(fmt.Errorf("bad measures %d", has))
		return m
	}
	if has&1 != 0 {
		days := training.DaysFromHalves(d.varint())
		m.Days = &days
	}
	if has&2 != 0 {
		m.Hours = d.optHoursValue()
	}
	return m
}

func (d *dec) optHoursValue() *training.Hours {
	h := training.Hours(d.varint())
	return &h
}

func (d *dec) optHours() *training.Hours {
	if !d.boolean() {
		return nil
	}
	return d.optHoursValue()
}

func (d *dec) requirement(r *training.RequirementStatus) {
	*r = training.RequirementStatus{
		ID:        d.str(),
		Window:    training.Window{Start: d.date(), End: d.date()},
		Target:    d.measures(),
		Achieved:  d.measures(),
		Remaining: d.measures(),
		State:     training.State(d.enum(states...)),
		Deadline:  d.date(),
	}
	if d.boolean() {
		t := &training.Trigger{Event: d.enum("promotion", "joined"), On: d.date(), Rank: d.str(), FromRank: d.str()}
		triggerExt.readAlways(d, t)
		r.Trigger = t
	}
	r.CountedFrom = d.date()
	if d.boolean() {
		p := &training.Proration{Reason: d.enum("joined", "category_changed", "in_office"), From: d.date(),
			Months: int(d.varint()), OfMonths: int(d.varint()), Days: int(d.varint()), OfDays: int(d.varint()),
			FullTarget: d.measures()}
		prorationExt.readAlways(d, p)
		r.Prorated = p
	}
	if d.boolean() {
		c := &training.CreditingApplied{Overlay: d.str(), HoursAsSent: training.Hours(d.varint()),
			HoursCredited: training.Hours(d.varint()), CarriedOver: d.optHours()}
		creditingExt.readAlways(d, c)
		r.Crediting = c
	}
	requirementExt.readAlways(d, r)
}

// decodeStatusBody reads a statusV2 body into s (ComputedAt is not in it).
func decodeStatusBody(body []byte, s *training.Status) error {
	d := dec{b: body, s: string(body), n: len(body)}
	*s = training.Status{
		CadreID:                    d.str(),
		AsOf:                       d.date(),
		Policy:                     d.str(),
		Category:                   d.str(),
		Overlay:                    d.str(),
		Overall:                    training.State(d.enum(states...)),
		AppraisalExcellentEligible: d.boolean(),
	}
	hasReqs := d.boolean()
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail(errShort)
	}
	if hasReqs && d.err == nil {
		s.Requirements = make([]training.RequirementStatus, n)
		for i := range s.Requirements {
			d.requirement(&s.Requirements[i])
		}
	}
	nf := d.uvarint()
	if nf > uint64(len(d.b)) {
		d.fail(errShort)
	}
	if nf > 0 && d.err == nil {
		s.Flags = make(map[training.Flag]int, nf)
		for i := uint64(0); i < nf && d.err == nil; i++ {
			k := training.Flag(d.enum(string(training.FlagOverlapsRecord), string(training.FlagOnlineDuringFullTime),
				string(training.FlagDailyOnlineOverCap), string(training.FlagSameCourseTwoSources), string(training.FlagLongSpan)))
			s.Flags[k] = int(d.varint())
		}
	}
	statusExt.read(&d, s)
	return d.end("snapshot body")
}

func encodeStatus(body []byte, computedAt time.Time) []byte {
	e := enc{make([]byte, 0, len(body)+24)}
	e.byte1(statusV2)
	e.bytes(body)
	e.time(computedAt)
	return e.b
}

// splitStatus returns the version, body and ComputedAt of a stored binary snapshot.
func splitStatus(v []byte) (ver byte, body []byte, computedAt time.Time, err error) {
	d := dec{b: v}
	if ver = d.byte1(); ver != statusV1 && ver != statusV2 && d.err == nil {
		return 0, nil, time.Time{}, fmt.Errorf("decoding snapshot: unknown encoding version %d", ver)
	}
	body = d.bytes()
	computedAt = d.time()
	return ver, body, computedAt, d.end("snapshot")
}

// storedStatusBody returns the statusV2 body and ComputedAt of a stored snapshot in any encoding
// (an older one decoded and encoded again: current says whether it was statusV2 already). body
// may alias v.
func storedStatusBody(v []byte) (body []byte, computedAt time.Time, current bool, err error) {
	if len(v) > 0 && v[0] != '{' {
		ver, body, at, err := splitStatus(v)
		if err != nil || ver == statusV2 {
			return body, at, true, err
		}
	}
	var old training.Status
	if err := decodeStatus(v, &old); err != nil {
		return nil, time.Time{}, false, err
	}
	return appendStatusBody(nil, &old), old.ComputedAt, false, nil
}

// decodeStatus reads a snapshot in any encoding: format 1's JSON, statusV1 or statusV2.
func decodeStatus(v []byte, s *training.Status) error {
	if len(v) > 0 && v[0] == '{' {
		return jsonDecode(v, s)
	}
	ver, body, at, err := splitStatus(v)
	if err != nil {
		return err
	}
	if ver == statusV1 {
		err = jsonDecode(body, s)
	} else {
		err = decodeStatusBody(body, s)
	}
	if err != nil {
		return fmt.Errorf("decoding snapshot: %w", err)
	}
	s.ComputedAt = at
	return nil
}

// ---- report facts ----

// Facts are stored like snapshots: the version byte (codecV1; format 1 stored their JSON, still
// read), the length of the body, the body, AsOf and ComputedAt. The body holds every field
// training.Facts.Same compares, so PutFacts tells unchanged facts by comparing bodies, without
// decoding the stored ones; AsOf and ComputedAt (which Same leaves aside) follow it.

var factsExt = newExtension[training.Facts]("CadreID", "Name", "Unit", "Year", "AsOf", "Rank", "Category",
	"Leadership", "Overall", "Requirements", "Trained", "CentralizedHours", "FullTimeHours", "OnlineHours",
	"Makeup", "ComputedAt")

func appendFactsBody(b []byte, f *training.Facts) []byte {
	e := enc{b}
	e.str(f.CadreID)
	e.str(f.Name)
	e.str(f.Unit)
	e.varint(int64(f.Year))
	e.str(f.Rank)
	e.str(f.Category)
	e.boolean(f.Leadership)
	e.str(string(f.Overall))
	e.boolean(f.Requirements != nil)
	e.uvarint(uint64(len(f.Requirements)))
	for _, r := range f.Requirements {
		e.str(r.ID)
		e.str(string(r.State))
	}
	e.boolean(f.Trained)
	e.varint(int64(f.CentralizedHours))
	e.varint(int64(f.FullTimeHours))
	e.varint(int64(f.OnlineHours))
	e.uvarint(uint64(len(f.Makeup))) // omitempty: nil and empty are the same
	for _, m := range f.Makeup {
		e.str(m)
	}
	factsExt.append(&e, f)
	return e.b
}

func encodeFacts(body []byte, f *training.Facts) []byte {
	e := enc{make([]byte, 0, len(body)+32)}
	e.byte1(codecV1)
	e.bytes(body)
	e.date(f.AsOf)
	e.time(f.ComputedAt)
	return e.b
}

// splitFacts returns the body and ComputedAt of stored binary facts.
func splitFacts(v []byte) (body []byte, asOf training.Date, computedAt time.Time, err error) {
	d := dec{b: v}
	if ver := d.byte1(); ver != codecV1 && d.err == nil {
		return nil, training.Date{}, time.Time{}, fmt.Errorf("decoding facts: unknown encoding version %d", ver)
	}
	body = d.bytes()
	asOf = d.date()
	computedAt = d.time()
	return body, asOf, computedAt, d.end("facts")
}

// storedFactsBody returns the body and ComputedAt of stored facts in either encoding (JSON
// decoded and encoded again). body may alias v.
func storedFactsBody(v []byte) (body []byte, computedAt time.Time, err error) {
	if len(v) > 0 && v[0] != '{' {
		body, _, at, err := splitFacts(v)
		return body, at, err
	}
	var old training.Facts
	if err := jsonDecode(v, &old); err != nil {
		return nil, time.Time{}, err
	}
	return appendFactsBody(nil, &old), old.ComputedAt, nil
}

// decodeFacts reads stored facts in either encoding.
func decodeFacts(v []byte, f *training.Facts) error {
	if len(v) > 0 && v[0] == '{' {
		return jsonDecode(v, f)
	}
	body, asOf, at, err := splitFacts(v)
	if err != nil {
		return err
	}
	d := dec{b: body, s: string(body), n: len(body)}
	*f = training.Facts{CadreID: d.str(), Name: d.str(), Unit: d.str(), Year: int(d.varint()), Rank: d.str(),
		Category: d.str(), Leadership: d.boolean(), Overall: training.State(d.enum(states...))}
	hasReqs := d.boolean()
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail(errShort)
	}
	if hasReqs && d.err == nil {
		f.Requirements = make([]training.FactState, n)
		for i := range f.Requirements {
			f.Requirements[i] = training.FactState{ID: d.str(), State: training.State(d.enum(states...))}
		}
	}
	f.Trained = d.boolean()
	f.CentralizedHours = training.Hours(d.varint())
	f.FullTimeHours = training.Hours(d.varint())
	f.OnlineHours = training.Hours(d.varint())
	nm := d.uvarint()
	if nm > uint64(len(d.b)) {
		d.fail(errShort)
	}
	for i := uint64(0); i < nm && d.err == nil; i++ {
		f.Makeup = append(f.Makeup, d.enum(training.MakeupLeaderNoPartySchool, training.MakeupUnmetLastYear))
	}
	factsExt.read(&d, f)
	f.AsOf, f.ComputedAt = asOf, at
	return d.end("facts")
}

// ---- changes ----

// A change value is 8 bytes of big-endian unix nanos of At (read by the trimming without
// decoding), then the change: version byte, kind, cadre id, record id, and the old and new
// records (each a presence byte and a length-prefixed record). Format 1 had JSON after the 8 bytes.

func encodeChange(c *training.Change) []byte {
	var old, nw []byte
	if c.Old != nil {
		old = encodeRecord(c.Old)
	}
	if c.New != nil {
		nw = encodeRecord(c.New)
	}
	b := encodeChangeOf(c, old, nw)
	binary.BigEndian.PutUint64(b, uint64(c.At.UnixNano()))
	return b
}

// encodeChangeOf encodes c with its old and new records already encoded (nil: none), leaving the
// first 8 bytes (At) for the caller to set.
func encodeChangeOf(c *training.Change, old, nw []byte) []byte {
	e := enc{make([]byte, 8, 32+len(c.CadreID)+len(old)+len(nw))}
	e.byte1(codecV1)
	e.str(string(c.Kind))
	e.str(c.CadreID)
	e.compact(c.RecordID)
	for _, r := range [][]byte{old, nw} {
		e.boolean(r != nil)
		if r != nil {
			e.bytes(r)
		}
	}
	return e.b
}

// decodeChange decodes a change value; Seq is left for the caller.
func decodeChange(v []byte, c *training.Change) error {
	if len(v) < 9 {
		return fmt.Errorf("decoding change: %w", errShort)
	}
	at := time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
	v = v[8:]
	if v[0] == '{' {
		if err := jsonDecode(v, c); err != nil {
			return err
		}
		c.At = at
		return nil
	}
	d := dec{b: v}
	if ver := d.byte1(); ver != codecV1 {
		return fmt.Errorf("decoding change: unknown encoding version %d", ver)
	}
	*c = training.Change{Kind: training.ChangeKind(d.str()), CadreID: d.str(), RecordID: d.compact(), At: at}
	for _, p := range []**training.Record{&c.Old, &c.New} {
		if d.boolean() {
			raw := d.bytes()
			if d.err != nil {
				break
			}
			var r training.Record
			if err := decodeRecord(raw, &r); err != nil {
				return fmt.Errorf("decoding change: %w", err)
			}
			*p = &r
		}
	}
	if err := d.end("change"); err != nil {
		return err
	}
	if c.Kind != training.ChangeInsert && c.Kind != training.ChangeModify {
		return fmt.Errorf("decoding change: unknown kind %q", c.Kind)
	}
	return nil
}
