// Package app holds the application service: the flows behind every endpoint and event
// (profiles, completions, self-study, voiding, quota status, recompute, form entries), on top of
// the rules in shared/training and any training.Store. It imports nothing from AWS.
package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cadre-training/cadretrain/shared/training"
)

// Service runs the flows. Now defaults to time.Now; Rules to the embedded policies and overlays.
type Service struct {
	Store training.Store
	Now   func() time.Time
	Rules *training.Rules
	// Notify, when set, is told the outbox key of every delivery queued or replayed (the
	// one-machine deliverer wakes on it; without it deliveries wait for the next poll).
	Notify func(key string)
}

func (s *Service) rules() *training.Rules {
	if s.Rules == nil {
		return training.DefaultRules()
	}
	return s.Rules
}

// PolicyList is what GET /v1/policies shows: every policy (requirements, targets, sources) and
// every local crediting overlay (unit, version, source, rules).
type PolicyList struct {
	Policies []*training.Policy  `json:"policies"`
	Overlays []*training.Overlay `json:"overlays"`
}

// Policies lists the policies and overlays the service evaluates with.
func (s *Service) Policies() PolicyList {
	r := s.rules()
	out := PolicyList{Policies: r.Policies, Overlays: r.Overlays.All()}
	if out.Overlays == nil {
		out.Overlays = []*training.Overlay{}
	}
	return out
}

// New returns a service on store.
func New(store training.Store) *Service { return &Service{Store: store, Now: time.Now} }

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Today is today's date in China Standard Time.
func (s *Service) Today() training.Date { return training.Today(s.now()) }

// ProfileInput is a cadre profile as sent by an HR system (PUT /v1/cadres/{id}).
type ProfileInput struct {
	Name             string
	Unit             string
	Rank             string // code or official Chinese title
	RankEffectiveOn  training.Date
	LeadershipMember bool
	// LeadershipEffectiveOn dates a change of LeadershipMember (appointed on, or left on);
	// default today (docs/rules.md "Leadership terms").
	LeadershipEffectiveOn training.Date
	JoinedOn              training.Date
}

// Scope decides which units a caller may see and change; nil means everything.
type Scope interface{ Sees(unit string) bool }

func visible(scope Scope, unit string) bool { return scope == nil || scope.Sees(unit) }

const maxPutCadreRetries = 5

// PutCadre creates or updates a profile. A changed rank is appended to the rank history from
// RankEffectiveOn (default today); a rank change dated on the current entry's date replaces it,
// one dated before it is EINVALID (history is append-only; docs/api.md). A cadre outside scope is
// ENOTFOUND; moving a cadre, or creating one, into a unit outside scope is EFORBIDDEN.
func (s *Service) PutCadre(ctx context.Context, scope Scope, id string, in ProfileInput) (training.Cadre, bool, error) {
	in.Name = strings.TrimSpace(in.Name)
	if err := s.CheckProfile(id, in).Err(); err != nil {
		return training.Cadre{}, false, err
	}
	for attempt := 0; ; attempt++ {
		cur, err := s.Store.GetCadre(ctx, id)
		exists := err == nil
		if err != nil && training.ErrorCode(err) != training.ENOTFOUND {
			return training.Cadre{}, false, err
		}
		// The target unit first: a unit outside the key's units answers 403 whether or not the
		// id exists elsewhere, so the answer reveals nothing about other units' cadres.
		if !visible(scope, in.Unit) {
			return training.Cadre{}, false, training.Errorf(training.EFORBIDDEN, "unit %s is outside the units of this API key", in.Unit)
		}
		if exists && !visible(scope, cur.Unit) {
			return training.Cadre{}, false, training.Errorf(training.ENOTFOUND, "cadre %s not found", id)
		}
		next, err := s.applyProfile(cur, exists, id, in)
		if err != nil {
			return training.Cadre{}, false, err
		}
		saved, err := s.Store.PutCadre(ctx, next, cur.Version)
		if training.ErrorCode(err) == training.ECONFLICT && attempt < maxPutCadreRetries {
			continue // a concurrent update won; apply ours on top of it
		}
		return saved, !exists, err
	}
}

// NewCadre is the profile PutCadre would create for id from in when no cadre id exists yet,
// checked as PutCadre checks it, without touching the store: the bulk import builds new cadres
// with it (shared/importer).
func (s *Service) NewCadre(id string, in ProfileInput) (training.Cadre, error) {
	in.Name = strings.TrimSpace(in.Name)
	if err := s.CheckProfile(id, in).Err(); err != nil {
		return training.Cadre{}, err
	}
	return s.applyProfile(training.Cadre{}, false, id, in)
}

// applyProfile is cur (the stored profile when exists) with the checked input in applied.
func (s *Service) applyProfile(cur training.Cadre, exists bool, id string, in ProfileInput) (training.Cadre, error) {
	rank, _ := training.CurrentPolicy(s.now()).LookupRank(in.Rank)
	eff := in.RankEffectiveOn
	if eff.IsZero() {
		eff = s.Today()
	}
	next := cur
	now := s.now().UTC()
	if !exists {
		next = training.Cadre{ID: id, CreatedAt: now}
	}
	next.Name, next.Unit, next.JoinedOn = in.Name, in.Unit, in.JoinedOn
	next.UpdatedAt = now
	terms, err := setLeadership(cur, in.LeadershipMember, in.LeadershipEffectiveOn, s.Today(), s.rules().Policies[0].EffectiveFrom)
	if err != nil {
		return training.Cadre{}, err
	}
	next.LeadershipHistory = terms
	next.LeadershipMember = training.LeadershipMemberOn(next, s.Today())
	hist, err := appendRank(cur.RankHistory, rank.Code, eff)
	if err != nil {
		return training.Cadre{}, err
	}
	next.RankHistory = hist
	s.setCurrentRank(&next)
	return next, nil
}

// CheckProfile validates a profile without touching the store: one FieldError per bad field.
func (s *Service) CheckProfile(id string, in ProfileInput) training.Fields {
	var f training.Fields
	training.CheckID(&f, "cadre_id", id)
	training.CheckTextField(&f, "name", strings.TrimSpace(in.Name), training.MaxNameRunes, true)
	if msg := training.CheckUnit(in.Unit); msg != "" {
		f.Add("unit", "%s", msg)
	}
	pol := training.CurrentPolicy(s.now())
	if in.Rank == "" {
		f.Add("rank", "is required")
	} else if _, ok := pol.LookupRank(in.Rank); !ok {
		f.Add("rank", "unknown rank %q; accepted: %s (or their official Chinese titles)", in.Rank, strings.Join(pol.RankCodes(), ", "))
	}
	if !in.JoinedOn.IsZero() && in.JoinedOn.After(s.Today()) {
		f.Add("joined_on", "must not be in the future")
	}
	return f
}

func appendRank(hist []training.RankChange, code string, eff training.Date) ([]training.RankChange, error) {
	out := append([]training.RankChange(nil), hist...)
	if len(out) == 0 {
		return []training.RankChange{{Rank: code, EffectiveOn: eff}}, nil
	}
	last := out[len(out)-1]
	if last.Rank == code {
		if eff.Before(last.EffectiveOn) {
			// Re-sending the rank with an earlier date is a correction of the history, which PUT
			// does not do silently (docs/decisions.md "Profiles").
			var f training.Fields
			f.Add("rank_effective_on", "is before the current rank's effective date %s; to correct the history use POST /v1/cadres/{cadre_id}/corrections with a reason", last.EffectiveOn)
			return nil, f.Err()
		}
		return out, nil // unchanged rank: history unchanged
	}
	switch eff.Compare(last.EffectiveOn) {
	case 0:
		out[len(out)-1].Rank = code // same-day correction
		if len(out) >= 2 && out[len(out)-2].Rank == code {
			out = out[:len(out)-1]
		}
		return out, nil
	case -1:
		var f training.Fields
		f.Add("rank_effective_on", "must not be before the current rank's effective date %s (PUT appends to the rank history; to correct it use POST /v1/cadres/{cadre_id}/corrections with a reason)", last.EffectiveOn)
		return nil, f.Err()
	}
	return append(out, training.RankChange{Rank: code, EffectiveOn: eff}), nil
}

// GetCadre returns a cadre visible in scope, else ENOTFOUND. Its rank, rank_title and category
// are those in force today (a promotion dated in the future shows from its date on).
func (s *Service) GetCadre(ctx context.Context, scope Scope, id string) (training.Cadre, error) {
	c, err := s.Store.GetCadre(ctx, id)
	if err != nil {
		return training.Cadre{}, err
	}
	if !visible(scope, c.Unit) {
		return training.Cadre{}, training.Errorf(training.ENOTFOUND, "cadre %s not found", id)
	}
	s.setCurrentRank(&c)
	return c, nil
}

// setCurrentRank sets the profile's rank fields to the rank of its history in force today.
func (s *Service) setCurrentRank(c *training.Cadre) {
	code := training.RankOn(*c, s.Today())
	if ri, ok := training.CurrentPolicy(s.now()).LookupRank(code); ok {
		c.Rank, c.RankTitle, c.Category = ri.Code, ri.Title, ri.Category
	}
}

// SubmitResult is the outcome of one submitted record.
type SubmitResult struct {
	Outcome training.CreateOutcome // created, duplicate, conflict; "" when rejected
	Record  training.Record
}

// SubmitRecord validates and stores one record for an existing cadre visible in scope. Field
// errors are EINVALID (nothing stored); an unknown or invisible cadre is ENOTFOUND (nothing stored).
// daysGiven says whether the source sent `days`.
func (s *Service) SubmitRecord(ctx context.Context, scope Scope, r training.Record, daysGiven bool) (SubmitResult, error) {
	r, err := s.PrepareRecord(r, daysGiven)
	if err != nil {
		return SubmitResult{}, err
	}
	return s.storeRecord(ctx, scope, r)
}

// PrepareRecord runs every check of a submitted record that needs no store (fields, event id,
// plausibility) and returns it active, stamped and sealed; field errors are EINVALID. The bulk
// import checks its rows with it (shared/importer), so both paths share one set of rules.
func (s *Service) PrepareRecord(r training.Record, daysGiven bool) (training.Record, error) {
	var f training.Fields
	training.CheckID(&f, "cadre_id", r.CadreID)
	switch {
	case r.ExternalID == "":
		f.Add("event_id", "is required")
	case len(r.ExternalID) > training.MaxExternalIDLen:
		f.Add("event_id", "must be at most %d characters", training.MaxExternalIDLen)
	}
	f = append(f, training.CheckRecord(&r, daysGiven)...)
	if err := f.Err(); err != nil {
		return training.Record{}, err
	}
	if err := s.rules().CheckPlausible(r, s.Today()).Err(); err != nil {
		return training.Record{}, err
	}
	r.Status = training.StatusActive
	r.CreatedAt = s.now().UTC()
	r.Seal()
	return r, nil
}

// ListRecords returns the cadre's archive (all kinds, voided included, newest first), filtered to
// records attributed in year when year > 0.
func (s *Service) ListRecords(ctx context.Context, scope Scope, cadreID string, year int) ([]training.Record, error) {
	if _, err := s.GetCadre(ctx, scope, cadreID); err != nil {
		return nil, err
	}
	recs, err := s.Store.ListRecords(ctx, cadreID)
	if err != nil {
		return nil, err
	}
	flags := s.rules().RecordFlags(recs)
	for i := range recs {
		recs[i].Flags = flags[recs[i].ID]
	}
	if year == 0 {
		return recs, nil
	}
	out := recs[:0:0]
	for _, r := range recs {
		if r.AttributionDate().Year == year {
			out = append(out, r)
		}
	}
	return out, nil
}

// VoidRecord voids a record visible in scope. Voiding twice is a no-op. The record stops counting;
// the stream handlers then withdraw its form entries and recompute the status.
func (s *Service) VoidRecord(ctx context.Context, scope Scope, recordID, reason, actor string) (training.Record, bool, error) {
	var f training.Fields
	reason = strings.TrimSpace(reason)
	training.CheckTextField(&f, "reason", reason, training.MaxReasonRunes, true)
	if err := f.Err(); err != nil {
		return training.Record{}, false, err
	}
	rec, err := s.Store.GetRecord(ctx, recordID)
	if err != nil {
		return training.Record{}, false, err
	}
	if _, err := s.GetCadre(ctx, scope, rec.CadreID); err != nil {
		return training.Record{}, false, training.Errorf(training.ENOTFOUND, "record %s not found", recordID)
	}
	return s.Store.VoidRecord(ctx, recordID, training.Voiding{Reason: reason, By: actor, At: s.now().UTC()})
}

// Evaluate computes the cadre's status as of asOf without storing it, reading only the records
// the evaluation can count (Rules.EvaluationRange), however long the archive,
// with the explanation of each requirement.
func (s *Service) Evaluate(ctx context.Context, c training.Cadre, asOf training.Date) (training.Status, error) {
	_, recs, err := s.Store.CadreWithRecords(ctx, c.ID, s.evaluationSpan(asOf))
	if err != nil {
		return training.Status{}, err
	}
	return s.rules().Evaluate(c, recs, asOf, s.now().UTC())
}

// evaluationSpan is the span of records an evaluation as of asOf reads (all of them when no
// policy is in force: Evaluate then reports that).
func (s *Service) evaluationSpan(asOf training.Date) func(training.Cadre) (from, to training.Date) {
	return func(c training.Cadre) (from, to training.Date) {
		from, to, err := s.rules().EvaluationRange(c, asOf)
		if err != nil {
			return training.Date{}, training.Date{}
		}
		return from, to
	}
}

// QuotaStatus returns the cadre's status: evaluated fresh when asOf is set, else the stored
// snapshot; a cadre with no snapshot yet gets one computed and stored now.
func (s *Service) QuotaStatus(ctx context.Context, scope Scope, cadreID string, asOf training.Date) (training.Status, error) {
	c, err := s.GetCadre(ctx, scope, cadreID)
	if err != nil {
		return training.Status{}, err
	}
	if !asOf.IsZero() {
		st, err := s.Evaluate(ctx, c, asOf)
		return st.WithoutExplain(), err
	}
	snap, err := s.Store.GetSnapshot(ctx, cadreID)
	if err == nil {
		return snap, nil
	}
	if training.ErrorCode(err) != training.ENOTFOUND {
		return training.Status{}, err
	}
	return s.Recompute(ctx, cadreID, training.Date{})
}

// CadreLoader is implemented by stores that read everything a recompute needs of one cadre in
// one request: its profile, its records (in ListRecords order) and its stored snapshot (nil when
// none); an unknown cadre is ENOTFOUND. The DynamoDB store does (one Query of the cadre's
// partition); other stores read the cadre and only the records the evaluation needs
// (CadreWithRecords) and leave unchanged snapshots unwritten themselves (PutSnapshot).
type CadreLoader interface {
	LoadCadre(ctx context.Context, cadreID string) (training.Cadre, []training.Record, *training.Status, error)
}

// FactsLoader is a CadreLoader that also hands over the cadre's stored report facts (by year) in
// the same read, and stores facts given with what it handed over (PutFactsKnown: no second read).
// The DynamoDB store does: the facts items lie in the range of its one Query.
type FactsLoader interface {
	LoadCadreFacts(ctx context.Context, cadreID string) (training.Cadre, []training.Record, *training.Status, map[int]training.Facts, error)
	PutFactsKnown(ctx context.Context, us ...training.FactsUpdate) error
}

// putFacts stores a batch's facts: with the stored ones the store handed over (FactsLoader), or
// with PutFacts.
func (s *Service) putFacts(ctx context.Context, us []training.FactsUpdate) error {
	if l, ok := s.Store.(FactsLoader); ok {
		return l.PutFactsKnown(ctx, us...)
	}
	fs := make([]training.Facts, len(us))
	for i, u := range us {
		fs[i] = u.Facts
	}
	return s.Store.PutFacts(ctx, fs...)
}

// evaluateForRecompute evaluates the stored cadre as of asOf, without explanations (what a
// snapshot keeps), and returns the cadre, and the stored snapshot when the store hands it over
// in the same read (CadreLoader: storedKnown). Every recompute goes through it, so it also brings
// the cadre's report facts (and with them the unit rollups) up to date from the records it read:
// those of the evaluation and of the facts (recomputeSpan).
func (s *Service) evaluateForRecompute(ctx context.Context, cadreID string, asOf training.Date) (st training.Status, c training.Cadre, stored *training.Status, storedKnown bool, err error) {
	var facts []training.FactsUpdate
	st, c, stored, storedKnown, err = s.evaluateCollect(ctx, cadreID, asOf, &facts)
	if err == nil {
		err = s.putFacts(ctx, facts)
	}
	if err != nil {
		return training.Status{}, c, nil, false, err
	}
	return st, c, stored, storedKnown, nil
}

// evaluateCollect is evaluateForRecompute that appends the cadre's facts to *facts instead of
// storing them, so a fan-out stores a batch's facts in one PutFacts.
func (s *Service) evaluateCollect(ctx context.Context, cadreID string, asOf training.Date, facts *[]training.FactsUpdate) (st training.Status, c training.Cadre, stored *training.Status, storedKnown bool, err error) {
	var (
		recs        []training.Record
		storedFacts map[int]training.Facts // nil: not handed over
	)
	if l, ok := s.Store.(FactsLoader); ok {
		c, recs, stored, storedFacts, err = l.LoadCadreFacts(ctx, cadreID)
		storedKnown = true
	} else if l, ok := s.Store.(CadreLoader); ok {
		c, recs, stored, err = l.LoadCadre(ctx, cadreID)
		storedKnown = true
	} else {
		c, recs, err = s.Store.CadreWithRecords(ctx, cadreID, s.recomputeSpan(asOf))
	}
	if err != nil {
		return training.Status{}, c, nil, false, err
	}
	ev := newEvaluations(s.rules(), c, recs, s.now().UTC())
	st, err = ev.at(asOf)
	if err != nil {
		return training.Status{}, c, nil, false, err
	}
	fs, err := s.cadreFactsNow(ev)
	if err != nil {
		return training.Status{}, c, nil, false, err
	}
	for _, f := range fs {
		u := training.FactsUpdate{Facts: f, StoredKnown: storedFacts != nil}
		if old, ok := storedFacts[f.Year]; ok {
			u.Stored = &old
		}
		*facts = append(*facts, u)
	}
	return st, c, stored, storedKnown, nil
}

// evaluations evaluates one cadre's records (without explanations) as of a date at most once
// each: a recompute evaluates as of today for the status and again for this year's facts, and
// as of the end of last year for both years' facts (their “unmet last year”).
type evaluations struct {
	rules      *training.Rules
	c          training.Cadre
	recs       []training.Record
	computedAt time.Time
	done       map[training.Date]evaluated
}

type evaluated struct {
	st  training.Status
	err error
}

func newEvaluations(rules *training.Rules, c training.Cadre, recs []training.Record, computedAt time.Time) *evaluations {
	return &evaluations{rules: rules, c: c, recs: recs, computedAt: computedAt, done: map[training.Date]evaluated{}}
}

// at is rules.Evaluate(c, recs, asOf, computedAt), computed once per date. The statuses share
// their slices: callers must not change them.
func (e *evaluations) at(asOf training.Date) (training.Status, error) {
	if r, ok := e.done[asOf]; ok {
		return r.st, r.err
	}
	st, err := e.rules.Evaluate(e.c, e.recs, asOf, e.computedAt)
	e.done[asOf] = evaluated{st, err}
	return st, err
}

// recomputeSpan is the span of records a recompute reads: what the evaluation as of asOf needs
// and what the report facts of FactsYears need (their years, and the evaluations as of each
// year's end and the end of the year before, Rules.EvaluationRange of each).
func (s *Service) recomputeSpan(asOf training.Date) func(training.Cadre) (from, to training.Date) {
	return func(c training.Cadre) (from, to training.Date) {
		years := s.FactsYears()
		dates := make([]training.Date, 0, 2+2*len(years))
		for _, d := range []training.Date{asOf, s.Today()} {
			dates = appendDate(dates, d)
		}
		for _, y := range years {
			dates = appendDate(appendDate(dates, yearEnd(y)), yearEnd(y-1))
		}
		openFrom, openTo := false, false
		from = training.Date{Year: years[len(years)-1], Month: time.January, Day: 1}
		to = s.Today()
		if asOf.After(to) {
			to = asOf
		}
		for _, d := range dates {
			f, t, err := s.rules().EvaluationRange(c, d)
			if err != nil {
				continue // no policy in force on d: that evaluation reads nothing
			}
			openFrom = openFrom || f.IsZero()
			openTo = openTo || t.IsZero()
			if !f.IsZero() && f.Before(from) {
				from = f
			}
			if !t.IsZero() && t.After(to) {
				to = t
			}
		}
		if openFrom {
			from = training.Date{}
		}
		if openTo {
			to = training.Date{}
		}
		return from, to
	}
}

func yearEnd(y int) training.Date { return training.Date{Year: y, Month: time.December, Day: 31} }

// appendDate appends d unless ds has it (as of today and this year's and last year's ends: each
// evaluation range is asked for once).
func appendDate(ds []training.Date, d training.Date) []training.Date {
	if slices.Contains(ds, d) {
		return ds
	}
	return append(ds, d)
}

// Recompute evaluates the cadre as of asOf (default today), brings its report facts (CadreFacts,
// for FactsYears) and with them the unit rollups up to date, and stores the snapshot, unless the
// stored one says the same (everything but computed_at equal): then nothing is written and the
// stored one is returned (by the store itself when it did not hand the snapshot over), so a
// replayed or repeated recompute costs no write.
func (s *Service) Recompute(ctx context.Context, cadreID string, asOf training.Date) (training.Status, error) {
	if asOf.IsZero() {
		asOf = s.Today()
	}
	st, c, stored, storedKnown, err := s.evaluateForRecompute(ctx, cadreID, asOf)
	if err != nil {
		return training.Status{}, err
	}
	// Notices of the change are queued before the snapshot is stored: a crash in between finds
	// the same change again on the replay, and the events' ids make it the same events.
	if _, err := s.statusNotices(ctx, c, stored, storedKnown, st); err != nil {
		return training.Status{}, fmt.Errorf("notices of %s: %w", cadreID, err)
	}
	if stored != nil && sameStatus(*stored, st) {
		return *stored, nil
	}
	if err := s.Store.PutSnapshot(ctx, st); err != nil {
		return training.Status{}, fmt.Errorf("store snapshot of %s: %w", cadreID, err)
	}
	return st, nil
}

// sameStatus reports whether two statuses say the same, computed_at aside. They are compared as
// their JSON documents (what GET quota-status shows): exact 学时 and dates as strings.
func sameStatus(a, b training.Status) bool {
	a.ComputedAt, b.ComputedAt = time.Time{}, time.Time{}
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// RecomputeResult counts a fan-out.
type RecomputeResult struct {
	Recomputed int `json:"recomputed"`
	Failed     int `json:"failed"`
}

// recomputeBatch is how many cadres a worker evaluates before storing their snapshots in one
// PutSnapshots; listPage is the ListCadres page size of a fan-out.
const (
	recomputeBatch = 500
	listPage       = 1000
)

// RecomputeUnit recomputes every cadre in the unit subtree ("" = all), paging through the store;
// `workers` goroutines (≤ 0: one per CPU) each evaluate a batch of cadres, one store read per
// cadre, and store the batch's changed snapshots with one PutSnapshots.
// Per-cadre failures are counted (and passed to onErr), not fatal; a failure to list is returned.
func (s *Service) RecomputeUnit(ctx context.Context, unit string, asOf training.Date, workers int, onErr func(cadreID string, err error)) (RecomputeResult, error) {
	return s.RecomputeUnitWith(ctx, unit, asOf, workers, false, onErr)
}

// RecomputeUnitWith is RecomputeUnit; with repair it also rebuilds each cadre's form entries
// (RepairCadre).
func (s *Service) RecomputeUnitWith(ctx context.Context, unit string, asOf training.Date, workers int, repair bool, onErr func(cadreID string, err error)) (RecomputeResult, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if asOf.IsZero() {
		asOf = s.Today()
	}
	batches := make(chan []string, workers)
	done := make(chan RecomputeResult)
	go func() { done <- s.recomputeBatches(ctx, batches, asOf, repair, workers, onErr) }()
	var listErr error
	cursor := ""
	batch := make([]string, 0, recomputeBatch)
	for {
		page, next, err := s.Store.ListCadres(ctx, unit, cursor, listPage)
		if err != nil {
			listErr = err
			break
		}
		for _, c := range page {
			batch = append(batch, c.ID)
			if len(batch) == recomputeBatch {
				batches <- batch
				batch = make([]string, 0, recomputeBatch)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(batch) > 0 {
		batches <- batch
	}
	close(batches)
	return <-done, listErr
}

// recomputeBatches runs workers goroutines until batches is closed: each takes a batch of cadre
// ids, evaluates them, one store read per cadre, and stores the batch's changed snapshots with one
// PutSnapshots (with repair: RepairCadre for each instead). Failures are counted and passed to
// onErr. A zero asOf is today.
func (s *Service) recomputeBatches(ctx context.Context, batches <-chan []string, asOf training.Date, repair bool, workers int, onErr func(cadreID string, err error)) RecomputeResult {
	if asOf.IsZero() {
		asOf = s.Today()
	}
	var (
		mu  sync.Mutex
		res RecomputeResult
		wg  sync.WaitGroup
	)
	fail := func(id string, err error) {
		mu.Lock()
		res.Failed++
		mu.Unlock()
		if onErr != nil {
			onErr(id, err)
		}
	}
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sts := make([]training.Status, 0, recomputeBatch)
			for ids := range batches {
				sts = sts[:0]
				var (
					facts     = make([]training.FactsUpdate, 0, 2*len(ids))
					evaluated = make([]string, 0, len(ids))
				)
				done := 0
				for _, id := range ids {
					if repair {
						if _, err := s.RepairCadre(ctx, id, asOf); err != nil {
							fail(id, err)
						} else {
							done++
						}
						continue
					}
					st, c, stored, storedKnown, err := s.evaluateCollect(ctx, id, asOf, &facts)
					if err != nil {
						fail(id, err)
						continue
					}
					evaluated = append(evaluated, id)
					unchanged, err := s.statusNotices(ctx, c, stored, storedKnown, st)
					if err != nil {
						fail(id, fmt.Errorf("notices: %w", err))
						continue
					}
					if unchanged || stored != nil && sameStatus(*stored, st) {
						done++
						continue
					}
					sts = append(sts, st)
				}
				// The batch's report facts first, in one write: a cadre counts as recomputed only
				// once its facts and its snapshot are stored.
				if err := s.putFacts(ctx, facts); err != nil {
					for _, id := range evaluated {
						fail(id, fmt.Errorf("store report facts: %w", err))
					}
					continue
				}
				if _, err := s.Store.PutSnapshots(ctx, sts); err != nil {
					for _, st := range sts {
						fail(st.CadreID, fmt.Errorf("store snapshot: %w", err))
					}
					sts = sts[:0]
				}
				done += len(sts)
				mu.Lock()
				res.Recomputed += done
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return res
}

// SyncFormEntries brings the form entries of a record in line with rec, its state as the change
// feed delivered it (docs/rules.md, Forms): an active full-time centralized training is entered (appraisal
// form always, appointment form when ≥ 2 months); a voided one has its entries withdrawn, with
// who/when/why. The record is not read again: a record only ever goes from active to voided, and
// a withdrawn entry stays withdrawn (PutFormEntry does not revive it), so replays and
// out-of-order deliveries of its changes converge on the entries of its latest state.
func (s *Service) SyncFormEntries(ctx context.Context, rec training.Record) error {
	if rec.Status == training.StatusVoided {
		w := training.Voiding{Reason: "record voided", By: "system", At: s.now().UTC()}
		if rec.Void != nil {
			w = *rec.Void
		}
		_, err := s.Store.WithdrawFormEntries(ctx, rec.CadreID, rec.ID, w)
		return err
	}
	for _, e := range training.FormEntries(rec, s.now().UTC()) {
		if err := s.Store.PutFormEntry(ctx, e); err != nil {
			return fmt.Errorf("enter %s in %s form: %w", rec.ID, e.Form, err)
		}
	}
	return nil
}

// FormEntries lists a visible cadre's entries in a form; for the appraisal form only those of
// year (when year > 0).
func (s *Service) FormEntries(ctx context.Context, scope Scope, cadreID string, form training.FormKind, year int) ([]training.FormEntry, error) {
	if _, err := s.GetCadre(ctx, scope, cadreID); err != nil {
		return nil, err
	}
	entries, err := s.Store.ListFormEntries(ctx, cadreID, form)
	if err != nil {
		return nil, err
	}
	if year == 0 {
		return entries, nil
	}
	out := entries[:0:0]
	for _, e := range entries {
		if e.Year == year || (e.Year == 0 && e.EndDate.Year == year) {
			out = append(out, e)
		}
	}
	return out, nil
}

// MaxArchivePage is the most records one page of the archive holds.
const MaxArchivePage = 1000

// ArchivePage returns one page of a visible cadre's archive (newest attribution date first),
// at most limit records (≤ 0 means 100, capped at MaxArchivePage), and the cursor of the next page
// ("" after the last); with year > 0 only the records attributed in that year. Each record's flags
// are computed against the records whose dates can touch it (the page's dates widened by the
// longest plausible training span), so a page costs the same however long the archive grows.
func (s *Service) ArchivePage(ctx context.Context, scope Scope, cadreID string, year int, cursor string, limit int) ([]training.Record, string, error) {
	if _, err := s.GetCadre(ctx, scope, cadreID); err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, MaxArchivePage)
	var out []training.Record
	for {
		page, next, err := s.Store.ListRecordsPage(ctx, cadreID, cursor, limit-len(out))
		if err != nil {
			return nil, "", err
		}
		for _, r := range page {
			if d := r.AttributionDate(); year == 0 || d.Year == year {
				out = append(out, r)
			} else if year > 0 && d.Year < year {
				next = "" // newest first: nothing older can be of the year
				break
			}
		}
		cursor = next
		if cursor == "" || len(out) >= limit {
			break
		}
	}
	if len(out) == 0 {
		return []training.Record{}, "", nil
	}
	if err := s.flagPage(ctx, cadreID, out); err != nil {
		return nil, "", err
	}
	return out, cursor, nil
}

// flagPage sets the flags of the page's records from the records that can overlap them.
func (s *Service) flagPage(ctx context.Context, cadreID string, page []training.Record) error {
	newest, oldest := page[0].AttributionDate(), page[len(page)-1].AttributionDate()
	margin := 366
	if p, err := s.rules().PolicyFor(oldest); err == nil && p.Plausibility.MaxSpanDays > 0 {
		margin = p.Plausibility.MaxSpanDays
	}
	_, near, err := s.Store.CadreWithRecords(ctx, cadreID, func(training.Cadre) (training.Date, training.Date) {
		return oldest.AddDays(-margin), newest.AddDays(margin)
	})
	if err != nil {
		return err
	}
	flags := s.rules().RecordFlags(near)
	for i := range page {
		page[i].Flags = flags[page[i].ID]
	}
	return nil
}
