package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/cadre-training/cadretrain/shared/training"
)

// FactsYears are the years whose facts a recompute keeps current: this year and the last (the
// year that the 补训 list's “unmet last year” and most annual reports look back on). Reports and
// lists are served for these years only (docs/api.md “Unit report”).
func (s *Service) FactsYears() []int {
	y := s.Today().Year
	return []int{y, y - 1}
}

// CadreFacts derives the cadre's facts of year from its records (docs/api.md “Unit report”
// defines each figure). ok is false when the cadre has no facts that year: a year before the
// first policy, a year not begun, or a cadre who joined after it.
func (s *Service) CadreFacts(c training.Cadre, recs []training.Record, year int, computedAt time.Time) (f training.Facts, ok bool, err error) {
	return s.cadreFacts(newEvaluations(s.rules(), c, recs, computedAt), year)
}

// cadreFacts is CadreFacts over ev's cadre, records and computedAt, evaluating through ev.
func (s *Service) cadreFacts(ev *evaluations, year int) (f training.Facts, ok bool, err error) {
	c, recs, computedAt := ev.c, ev.recs, ev.computedAt
	rules := ev.rules
	today := s.Today()
	if year > today.Year {
		return training.Facts{}, false, nil
	}
	asOf := training.Date{Year: year, Month: time.December, Day: 31}
	if year == today.Year {
		asOf = today
	}
	if !c.JoinedOn.IsZero() && c.JoinedOn.After(asOf) {
		return training.Facts{}, false, nil
	}
	pol, err := rules.PolicyFor(asOf)
	if err != nil {
		return training.Facts{}, false, nil // no policy in force: nothing to report
	}
	st, err := ev.at(asOf)
	if err != nil {
		return training.Facts{}, false, err
	}
	f = training.Facts{
		CadreID: c.ID, Name: c.Name, Unit: c.Unit, Year: year, AsOf: asOf, Rank: training.RankOn(c, asOf),
		Category: st.Category, Leadership: c.LeadershipMember, Overall: st.Overall,
		Requirements: make([]training.FactState, 0, len(st.Requirements)), ComputedAt: computedAt,
	}
	partySchool := func(id string) bool { // a requirement of party-school training (a few per policy)
		for _, req := range pol.Requirements {
			if req.ID == id && req.Counts.InstitutionType == "party_school" {
				return true
			}
		}
		return false
	}
	for _, rs := range st.Requirements {
		f.Requirements = append(f.Requirements, training.FactState{ID: rs.ID, State: rs.State})
		if c.LeadershipMember && partySchool(rs.ID) && zeroMeasures(rs.Achieved) && !slices.Contains(f.Makeup, training.MakeupLeaderNoPartySchool) {
			f.Makeup = append(f.Makeup, training.MakeupLeaderNoPartySchool)
		}
	}
	if prev, err := ev.at(training.Date{Year: year - 1, Month: time.December, Day: 31}); err == nil &&
		prev.Overall == training.StateUnmet && (c.JoinedOn.IsZero() || !c.JoinedOn.After(prev.AsOf)) {
		f.Makeup = append(f.Makeup, training.MakeupUnmetLastYear)
	}
	yearStart := training.Date{Year: year, Month: time.January, Day: 1}
	for _, r := range recs {
		d := r.AttributionDate()
		if !r.Counts() || (r.CadreID != "" && r.CadreID != c.ID) || d.Before(yearStart) || d.After(asOf) {
			continue
		}
		switch r.Kind {
		case training.KindCentralized:
			f.Trained = true
			if f.CentralizedHours, err = sumHours(f.CentralizedHours, r.Hours); err != nil {
				return training.Facts{}, false, err
			}
			if r.FullTime {
				if f.FullTimeHours, err = sumHours(f.FullTimeHours, r.Hours); err != nil {
					return training.Facts{}, false, err
				}
			}
		case training.KindOnline:
			if f.OnlineHours, err = sumHours(f.OnlineHours, r.Hours); err != nil {
				return training.Facts{}, false, err
			}
		}
	}
	return f, true, nil
}

func zeroMeasures(m training.Measures) bool {
	return (m.Days == nil || m.Days.IsZero()) && (m.Hours == nil || *m.Hours == 0)
}

func sumHours(a, b training.Hours) (training.Hours, error) {
	if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
		return 0, training.Errorf(training.EINVALID, "学时 sum overflows")
	}
	return a + b, nil
}

// cadreFactsNow derives the facts of FactsYears of ev's cadre.
func (s *Service) cadreFactsNow(ev *evaluations) ([]training.Facts, error) {
	var out []training.Facts
	for _, y := range s.FactsYears() {
		f, ok, err := s.cadreFacts(ev, y)
		if err != nil {
			return nil, fmt.Errorf("facts of %s for %d: %w", ev.c.ID, y, err)
		}
		if ok {
			out = append(out, f)
		}
	}
	return out, nil
}

// ---- lists

// ListQuery is GET /v1/cadres: the unit subtree, the year (0: this year), an overall state or a
// requirement (and optionally its state), a page size and a cursor.
type ListQuery struct {
	Unit        string
	Year        int
	State       training.State
	Requirement string
	Limit       int
	Cursor      string
}

// ListPage is one page of a list; NextCursor is "" after the last page.
type ListPage struct {
	Items      []training.Facts
	NextCursor string
}

// Limits of lists (docs/api.md “Lists”).
const (
	DefaultListLimit = 50
	MaxListLimit     = 500
	// listScanFactor bounds the facts one filtered page reads: limit × factor (at least
	// minListScan); a page may hold fewer items than limit and still have a next cursor.
	listScanFactor = 20
	minListScan    = 2000
)

var states = []training.State{training.StateMet, training.StateOnTrack, training.StateAtRisk, training.StateUnmet}

// checkUnitYear validates a unit subtree and year against the caller's scope and FactsYears;
// year 0 becomes this year.
func (s *Service) checkUnitYear(f *training.Fields, scope Scope, unit string, year *int) {
	if unit != "" {
		if msg := training.CheckUnit(unit); msg != "" {
			f.Add("unit", "%s", msg)
		}
	}
	years := s.FactsYears()
	if *year == 0 {
		*year = years[0]
	} else if !slices.Contains(years, *year) {
		f.Add("year", "must be %d or %d (the years whose figures are kept current)", years[0], years[1])
	}
}

// scopeErr is the error for a unit subtree outside the caller's units.
func scopeErr(scope Scope, unit string) error {
	if visible(scope, unit) {
		return nil
	}
	return training.Errorf(training.EFORBIDDEN, "unit %q is outside the units of this API key", unit)
}

type listCursor struct {
	V      int    `json:"v"`
	Filter string `json:"f"`
	Unit   string `json:"u"`
	Cadre  string `json:"c"`
}

func (q ListQuery) filterKey(kind string) string {
	return strings.Join([]string{kind, q.Unit, fmt.Sprint(q.Year), string(q.State), q.Requirement}, "\x00")
}

func encodeListCursor(c listCursor) string {
	c.V = 1
	b, _ := json.Marshal(c) // plain struct: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeListCursor(s, filter string) (*training.FactsCursor, error) {
	if s == "" {
		return nil, nil
	}
	var c listCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	var f training.Fields
	switch {
	case err != nil || c.V != 1 || c.Cadre == "":
		f.Add("cursor", "is not one this service returned")
	case c.Filter != filter:
		f.Add("cursor", "belongs to a list with other parameters (unit, year, state, requirement)")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	return &training.FactsCursor{Unit: c.Unit, CadreID: c.Cadre}, nil
}

// CheckList validates q (and fills its defaults) without reading anything.
func (s *Service) CheckList(scope Scope, q *ListQuery) training.Fields {
	var f training.Fields
	s.checkUnitYear(&f, scope, q.Unit, &q.Year)
	if q.State != "" && !slices.Contains(states, q.State) {
		f.Add("state", "must be one of met, on_track, at_risk, unmet")
	}
	if q.Requirement != "" {
		known := false
		for _, p := range s.rules().Policies {
			for _, r := range p.Requirements {
				known = known || r.ID == q.Requirement
			}
		}
		if !known {
			f.Add("requirement", "unknown requirement %q; GET /v1/policies lists them", q.Requirement)
		}
	}
	checkListLimit(&f, &q.Limit)
	return f
}

// ListCadres lists the stored status summaries (Facts) of the cadres of a unit subtree for a
// year, ordered by unit then cadre id, filtered by overall state, or by a requirement (the cadres
// it applies to) and its state.
func (s *Service) ListCadres(ctx context.Context, scope Scope, q ListQuery) (ListPage, error) {
	if err := s.CheckList(scope, &q).Err(); err != nil {
		return ListPage{}, err
	}
	if err := scopeErr(scope, q.Unit); err != nil {
		return ListPage{}, err
	}
	filter := q.filterKey("cadres")
	after, err := decodeListCursor(q.Cursor, filter)
	if err != nil {
		return ListPage{}, err
	}
	match := func(f training.Facts) bool {
		if q.Requirement != "" {
			st := f.RequirementState(q.Requirement)
			return st != "" && (q.State == "" || st == q.State)
		}
		return q.State == "" || f.Overall == q.State
	}
	return s.pageFacts(ctx, q.Year, q.Unit, after, q.Limit, false, filter, match)
}

// yearAsOf is the day a year's figures are as of: its 31 December, or today during the year.
func (s *Service) yearAsOf(year int) training.Date {
	if today := s.Today(); year == today.Year {
		return today
	}
	return yearEnd(year)
}

// pageFacts reads facts until a page of limit matches is full or the scan budget is spent. Each
// item's as_of is the year's (the stored facts were confirmed by the latest recompute; Facts.Same).
func (s *Service) pageFacts(ctx context.Context, year int, unit string, after *training.FactsCursor, limit int, makeup bool, filter string, match func(training.Facts) bool) (page ListPage, err error) {
	budget := max(limit*listScanFactor, minListScan)
	page = ListPage{Items: []training.Facts{}}
	asOf := s.yearAsOf(year)
	defer func() {
		for i := range page.Items {
			page.Items[i].AsOf = asOf
		}
	}()
	for budget > 0 {
		batch, more, err := s.Store.ListFacts(ctx, year, unit, after, min(max(limit, 100), budget), makeup)
		if err != nil {
			return ListPage{}, err
		}
		budget -= len(batch)
		for i, f := range batch {
			if !match(f) {
				continue
			}
			page.Items = append(page.Items, f)
			if len(page.Items) == limit {
				if i < len(batch)-1 || more {
					page.NextCursor = encodeListCursor(listCursor{Filter: filter, Unit: f.Unit, Cadre: f.CadreID})
				}
				return page, nil
			}
		}
		if !more {
			return page, nil
		}
		last := batch[len(batch)-1]
		after = &training.FactsCursor{Unit: last.Unit, CadreID: last.CadreID}
	}
	page.NextCursor = encodeListCursor(listCursor{Filter: filter, Unit: after.Unit, Cadre: after.CadreID})
	return page, nil
}

// MakeupQuery is GET /v1/reports/makeup: the 补训 list of a unit subtree for a year.
type MakeupQuery struct {
	Unit   string
	Year   int
	Limit  int
	Cursor string
}

// checkListLimit fills a list's default page size or names a limit out of range.
func checkListLimit(f *training.Fields, limit *int) {
	switch {
	case *limit == 0:
		*limit = DefaultListLimit
	case *limit < 1 || *limit > MaxListLimit:
		f.Add("limit", "must be between 1 and %d", MaxListLimit)
	}
}

// CheckMakeup validates q and fills its defaults.
func (s *Service) CheckMakeup(scope Scope, q *MakeupQuery) training.Fields {
	var f training.Fields
	s.checkUnitYear(&f, scope, q.Unit, &q.Year)
	checkListLimit(&f, &q.Limit)
	return f
}

// MakeupList lists the cadres on the year's 补训 list (docs/api.md “Unit report”), ordered by
// unit then cadre id; it reads only those cadres.
func (s *Service) MakeupList(ctx context.Context, scope Scope, q MakeupQuery) (ListPage, error) {
	if err := s.CheckMakeup(scope, &q).Err(); err != nil {
		return ListPage{}, err
	}
	if err := scopeErr(scope, q.Unit); err != nil {
		return ListPage{}, err
	}
	filter := ListQuery{Unit: q.Unit, Year: q.Year}.filterKey("makeup")
	after, err := decodeListCursor(q.Cursor, filter)
	if err != nil {
		return ListPage{}, err
	}
	return s.pageFacts(ctx, q.Year, q.Unit, after, q.Limit, true, filter, func(training.Facts) bool { return true })
}

// ---- the unit report

// ReportFigures are the figures of one set of cadres (docs/api.md “Unit report” defines each).
type ReportFigures struct {
	Cadres        int64               `json:"cadres"`
	ByCategory    map[string]int64    `json:"by_category"`
	Overall       StateCounts         `json:"overall"`
	Requirements  []RequirementCounts `json:"requirements"`
	Trained       int64               `json:"trained"`
	Participation training.Hours      `json:"participation_rate_percent"`
	FullTime      training.Hours      `json:"full_time_hours"`
	FullTimeAvg   training.Hours      `json:"full_time_hours_per_cadre"`
	Online        training.Hours      `json:"online_hours"`
	OnlineAvg     training.Hours      `json:"online_hours_per_cadre"`
	Centralized   training.Hours      `json:"centralized_hours"`
	Makeup        MakeupCounts        `json:"makeup"`
}

// StateCounts counts cadres (or cadres under one requirement) by state.
type StateCounts struct {
	Met     int64 `json:"met"`
	OnTrack int64 `json:"on_track"`
	AtRisk  int64 `json:"at_risk"`
	Unmet   int64 `json:"unmet"`
}

// RequirementCounts is StateCounts for one requirement; Cadres is how many it applies to.
type RequirementCounts struct {
	ID     string `json:"id"`
	Cadres int64  `json:"cadres"`
	StateCounts
}

// MakeupCounts counts the 补训 list: cadres on it, and per reason.
type MakeupCounts struct {
	Cadres              int64 `json:"cadres"`
	LeaderNoPartySchool int64 `json:"leader_no_party_school"`
	UnmetLastYear       int64 `json:"unmet_last_year"`
}

// UnitReport is GET /v1/reports/unit.
type UnitReport struct {
	Unit     string        `json:"unit"`
	Year     int           `json:"year"`
	AsOf     training.Date `json:"as_of"`
	Totals   ReportFigures `json:"totals"`
	Children []ChildReport `json:"children"`
}

// ChildReport is the figures of one child unit's subtree; Unit equal to the report's unit is the
// cadres placed directly in it (本级).
type ChildReport struct {
	Unit string `json:"unit"`
	ReportFigures
}

func stateCounts(m map[string]int64) StateCounts {
	return StateCounts{Met: m[string(training.StateMet)], OnTrack: m[string(training.StateOnTrack)],
		AtRisk: m[string(training.StateAtRisk)], Unmet: m[string(training.StateUnmet)]}
}

// percentOf is 100·num/den in hundredths, rounded half up; 0 when den is 0.
func percentOf(num, den int64) training.Hours { return perHundredths(num*10000, den) }

// perHundredths is v/den rounded half up (v ≥ 0, den > 0), 0 when den is 0.
func perHundredths(v, den int64) training.Hours {
	if den <= 0 {
		return 0
	}
	return training.Hours((2*v + den) / (2 * den))
}

// figures turns a tally into report figures; reqOrder is the policy's requirement order.
func figures(t training.Tally, reqOrder []string) ReportFigures {
	n := t[training.TallyCadres]
	f := ReportFigures{
		Cadres: n, ByCategory: t.Categories(), Overall: stateCounts(t.Overalls()), Trained: t[training.TallyTrained],
		FullTime: training.Hours(t[training.TallyFullTimeHours]), Online: training.Hours(t[training.TallyOnlineHours]),
		Centralized:  training.Hours(t[training.TallyCentralizedHours]),
		Requirements: []RequirementCounts{},
	}
	f.Participation = percentOf(f.Trained, n)
	f.FullTimeAvg = perHundredths(int64(f.FullTime), n)
	f.OnlineAvg = perHundredths(int64(f.Online), n)
	reqs := t.Requirements()
	ids := slices.Clone(reqOrder)
	for id := range reqs {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		m, ok := reqs[id]
		if !ok {
			continue
		}
		var total int64
		for _, v := range m {
			total += v
		}
		f.Requirements = append(f.Requirements, RequirementCounts{ID: id, Cadres: total, StateCounts: stateCounts(m)})
	}
	mr := t.MakeupReasons()
	f.Makeup = MakeupCounts{Cadres: t[training.TallyMakeup], LeaderNoPartySchool: mr[training.MakeupLeaderNoPartySchool],
		UnmetLastYear: mr[training.MakeupUnmetLastYear]}
	return f
}

// childOf names the child unit of prefix that unit lies in (prefix itself for its own cadres).
func childOf(prefix, unit string) string {
	if unit == prefix {
		return prefix
	}
	rest := unit
	if prefix != "" {
		rest = strings.TrimPrefix(unit, prefix+"/")
	}
	seg, _, _ := strings.Cut(rest, "/")
	if prefix == "" {
		return seg
	}
	return prefix + "/" + seg
}

// CheckReport validates the unit and year of a report.
func (s *Service) CheckReport(scope Scope, unit string, year *int) training.Fields {
	var f training.Fields
	s.checkUnitYear(&f, scope, unit, year)
	return f
}

// Report sums the unit rollups of the subtree: it reads one rollup per unit, never the cadres.
func (s *Service) Report(ctx context.Context, scope Scope, unit string, year int) (UnitReport, error) {
	unit = strings.TrimSuffix(unit, "/")
	if err := s.CheckReport(scope, unit, &year).Err(); err != nil {
		return UnitReport{}, err
	}
	if err := scopeErr(scope, unit); err != nil {
		return UnitReport{}, err
	}
	rollups, err := s.Store.ListRollups(ctx, year, unit)
	if err != nil {
		return UnitReport{}, err
	}
	return s.reportOf(unit, year, rollups)
}

func (s *Service) reportOf(unit string, year int, rollups []training.UnitRollup) (UnitReport, error) {
	total := training.Tally{}
	children := map[string]training.Tally{}
	var order []string
	for _, r := range rollups {
		if err := total.Add(r.Tally); err != nil {
			return UnitReport{}, err
		}
		c := childOf(unit, r.Unit)
		if children[c] == nil {
			children[c] = training.Tally{}
			order = append(order, c)
		}
		if err := children[c].Add(r.Tally); err != nil {
			return UnitReport{}, err
		}
	}
	asOf := s.yearAsOf(year)
	var reqOrder []string
	if p, err := s.rules().PolicyFor(asOf); err == nil {
		for _, r := range p.Requirements {
			reqOrder = append(reqOrder, r.ID)
		}
	}
	rep := UnitReport{Unit: unit, Year: year, AsOf: asOf, Totals: figures(total, reqOrder), Children: []ChildReport{}}
	slices.Sort(order)
	for _, c := range order {
		if children[c][training.TallyCadres] == 0 {
			continue
		}
		rep.Children = append(rep.Children, ChildReport{Unit: c, ReportFigures: figures(children[c], reqOrder)})
	}
	return rep, nil
}

// Recount builds the report of a subtree from every cadre's records, evaluated afresh, without
// the rollups: what the rollups must always equal (tests and the benchmark of docs/benchmarks.md).
func (s *Service) Recount(ctx context.Context, unit string, year int) (UnitReport, error) {
	byUnit := map[string]training.Tally{}
	cursor := ""
	for {
		page, next, err := s.Store.ListCadres(ctx, unit, cursor, 500)
		if err != nil {
			return UnitReport{}, err
		}
		for _, c := range page {
			recs, err := s.Store.ListRecords(ctx, c.ID)
			if err != nil {
				return UnitReport{}, err
			}
			f, ok, err := s.CadreFacts(c, recs, year, s.now())
			if err != nil {
				return UnitReport{}, err
			}
			if !ok {
				continue
			}
			if byUnit[c.Unit] == nil {
				byUnit[c.Unit] = training.Tally{}
			}
			if err := byUnit[c.Unit].Add(f.Tally()); err != nil {
				return UnitReport{}, err
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	rollups := make([]training.UnitRollup, 0, len(byUnit))
	for u, t := range byUnit {
		rollups = append(rollups, training.UnitRollup{Unit: u, Year: year, Tally: t})
	}
	slices.SortFunc(rollups, func(a, b training.UnitRollup) int { return strings.Compare(a.Unit, b.Unit) })
	return s.reportOf(strings.TrimSuffix(unit, "/"), year, rollups)
}
