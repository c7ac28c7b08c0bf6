package training

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Facts is what one cadre contributes to the unit report of one year (docs/api.md “Unit report”):
// the states as of the year's end (or today, for the current year), the year's counted hours and
// the reasons the cadre is on the 补训 list. The service derives Facts from the records whenever it
// recomputes the cadre (app.Service.Recompute); the store keeps them per (cadre, year), lists them
// by unit, and keeps per-unit sums (UnitRollup) in step with them.
type Facts struct {
	CadreID    string `json:"cadre_id"`
	Name       string `json:"name"`
	Unit       string `json:"unit"`
	Year       int    `json:"year"`
	AsOf       Date   `json:"as_of"`
	Rank       string `json:"rank,omitempty"`
	Category   string `json:"category"`
	Leadership bool   `json:"leadership_member"`
	Overall    State  `json:"overall"`
	// Requirements are the states of the requirements that apply, in policy order.
	Requirements []FactState `json:"requirements"`
	// Trained: at least one counted centralized training attributed in the year (参训).
	Trained bool `json:"trained"`
	// CentralizedHours, FullTimeHours (脱产) and OnlineHours (网络) are the counted 学时 as sent,
	// attributed in the year up to AsOf.
	CentralizedHours Hours `json:"centralized_hours"`
	FullTimeHours    Hours `json:"full_time_hours"`
	OnlineHours      Hours `json:"online_hours"`
	// Makeup lists why the cadre is on the year's 补训 list (MakeupLeaderNoPartySchool,
	// MakeupUnmetLastYear); empty when not.
	Makeup     []string  `json:"makeup,omitempty"`
	ComputedAt time.Time `json:"computed_at"`
}

// FactState is one requirement's state in Facts.
type FactState struct {
	ID    string `json:"id"`
	State State  `json:"state"`
}

// Reasons for the 补训 list (docs/api.md “Unit report”).
const (
	// MakeupLeaderNoPartySchool: a leadership-team member under the party-school rule with no
	// counted party-school training in the plan period so far.
	MakeupLeaderNoPartySchool = "leader_no_party_school"
	// MakeupUnmetLastYear: the cadre's overall state at the end of the previous year was unmet.
	MakeupUnmetLastYear = "unmet_last_year"
)

// RequirementState returns the state of requirement id, "" when it does not apply.
func (f Facts) RequirementState(id string) State {
	for _, r := range f.Requirements {
		if r.ID == id {
			return r.State
		}
	}
	return ""
}

// Same reports whether f and g say the same, computed_at and as_of aside: facts re-derived on a
// later day with the same figures are not written again (the daily recompute would otherwise
// rewrite every cadre's facts for the date alone); readers show the year's date (today, or its
// 31 December), which the latest recompute confirmed.
func (f Facts) Same(g Facts) bool {
	return f.CadreID == g.CadreID && f.Name == g.Name && f.Unit == g.Unit && f.Year == g.Year &&
		f.Rank == g.Rank && f.Category == g.Category && f.Leadership == g.Leadership &&
		f.Overall == g.Overall && slices.Equal(f.Requirements, g.Requirements) && f.Trained == g.Trained &&
		f.CentralizedHours == g.CentralizedHours && f.FullTimeHours == g.FullTimeHours &&
		f.OnlineHours == g.OnlineHours && slices.Equal(f.Makeup, g.Makeup)
}

// Tally counters (the keys of a Tally). A counter of 学时 holds hundredths.
const (
	TallyCadres           = "cadres"
	TallyTrained          = "trained"
	TallyCentralizedHours = "centralized_hours"
	TallyFullTimeHours    = "full_time_hours"
	TallyOnlineHours      = "online_hours"
	TallyMakeup           = "makeup"
	tallyCategory         = "category:"
	tallyOverall          = "overall:"
	tallyRequirement      = "requirement:"
	tallyMakeupReason     = "makeup:"
)

// TallyCategory, TallyOverall, TallyRequirement and TallyMakeupReason name the counters of a
// category, an overall state, a requirement's state and a 补训 reason.
func TallyCategory(c string) string { return tallyCategory + c }
func TallyOverall(s State) string   { return tallyOverall + string(s) }
func TallyRequirement(id string, s State) string {
	return tallyRequirement + id + ":" + string(s)
}
func TallyMakeupReason(r string) string { return tallyMakeupReason + r }

// Tally is a set of named counters: what one cadre's Facts contribute to its unit, and the sum
// over a unit (UnitRollup). Zero counters are left out. Keys hold no NUL and are at most a few
// dozen characters, so a store may keep each counter as an attribute of its own.
type Tally map[string]int64

// Tally returns the counters f contributes.
func (f Facts) Tally() Tally {
	t := Tally{TallyCadres: 1, TallyCategory(f.Category): 1, TallyOverall(f.Overall): 1}
	for _, r := range f.Requirements {
		t[TallyRequirement(r.ID, r.State)] = 1
	}
	if f.Trained {
		t[TallyTrained] = 1
	}
	t.add(TallyCentralizedHours, int64(f.CentralizedHours))
	t.add(TallyFullTimeHours, int64(f.FullTimeHours))
	t.add(TallyOnlineHours, int64(f.OnlineHours))
	if len(f.Makeup) > 0 {
		t[TallyMakeup] = 1
	}
	for _, r := range f.Makeup {
		t[TallyMakeupReason(r)] = 1
	}
	return t
}

func (t Tally) add(k string, v int64) {
	if v == 0 {
		return
	}
	if n := t[k] + v; n != 0 {
		t[k] = n
	} else {
		delete(t, k)
	}
}

// Add adds o to t (counter by counter), checking for overflow.
func (t Tally) Add(o Tally) error {
	for k, v := range o {
		s := t[k] + v
		if (v > 0 && s < t[k]) || (v < 0 && s > t[k]) {
			return fmt.Errorf("tally counter %s overflows", k)
		}
		t.add(k, v)
	}
	return nil
}

// Minus returns t − o.
func (t Tally) Minus(o Tally) Tally {
	d := Tally{}
	for k, v := range t {
		d.add(k, v)
	}
	for k, v := range o {
		d.add(k, -v)
	}
	return d
}

// Keys returns the counter names in order.
func (t Tally) Keys() []string {
	ks := make([]string, 0, len(t))
	for k := range t {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Categories, Overalls, Requirements and MakeupReasons pick the counters of one family:
// category → count, state → count, requirement id → state → count, reason → count.
func (t Tally) Categories() map[string]int64 { return t.family(tallyCategory) }
func (t Tally) Overalls() map[string]int64   { return t.family(tallyOverall) }
func (t Tally) MakeupReasons() map[string]int64 {
	return t.family(tallyMakeupReason)
}
func (t Tally) Requirements() map[string]map[string]int64 {
	out := map[string]map[string]int64{}
	for k, v := range t.family(tallyRequirement) {
		i := strings.LastIndexByte(k, ':')
		if i < 0 {
			continue
		}
		id, st := k[:i], k[i+1:]
		if out[id] == nil {
			out[id] = map[string]int64{}
		}
		out[id][st] = v
	}
	return out
}

func (t Tally) family(prefix string) map[string]int64 {
	out := map[string]int64{}
	for k, v := range t {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			out[rest] = v
		}
	}
	return out
}

// UnitRollup is the sum of the Facts of the cadres directly in one unit for one year.
type UnitRollup struct {
	Unit  string `json:"unit"`
	Year  int    `json:"year"`
	Tally Tally  `json:"tally"`
}

// FactsUpdate is facts to store with the facts stored for their cadre and year as the caller
// read them (StoredKnown; Stored nil: none), so that a store that handed them over with the
// cadre's records (the DynamoDB store's LoadCadreFacts) need not read them again. A store still
// writes on the condition that they are what it holds, and reads them again when they are not.
type FactsUpdate struct {
	Facts
	Stored      *Facts
	StoredKnown bool
}

// FactsCursor is where a listing of facts continues: after (Unit, CadreID).
type FactsCursor struct {
	Unit    string `json:"u"`
	CadreID string `json:"c"`
}

// RollupStore keeps each cadre's Facts per year and per-unit sums of them.
type RollupStore interface {
	// GetFacts returns the cadre's stored facts for each of years that has them.
	GetFacts(ctx context.Context, cadreID string, years []int) (map[int]Facts, error)

	// PutFacts stores each f as its cadre's facts of f.Year, unless the stored ones have a later
	// ComputedAt or say the same (Same): then that f changes nothing. In the same atomic step it
	// moves the cadre's contribution in the unit rollups: the stored facts' Tally is taken from
	// their unit's rollup and f's added to f.Unit's. So every UnitRollup is at all times the sum
	// of the stored facts of its unit, however often a batch is written again. The listings
	// (ListFacts, the 补训 entry following f.Makeup) follow the stored facts (the DynamoDB store
	// lists them through an index of the facts items, a moment behind). A store may write several facts in one
	// step (the embedded store: one transaction; DynamoDB: a chunk per transaction); on error
	// any subset may have been written, each whole.
	PutFacts(ctx context.Context, fs ...Facts) error

	// ListFacts returns up to limit facts of the year in the unit subtree (by whole segments, ""
	// = all), ordered by unit then cadre id, starting after `after` (nil: from the start).
	// makeupOnly lists only facts with a Makeup reason (the 补训 list) and reads only those.
	// more says whether facts follow the page. limit ≤ 0 means 100.
	ListFacts(ctx context.Context, year int, unitPrefix string, after *FactsCursor, limit int, makeupOnly bool) (page []Facts, more bool, err error)

	// ListRollups returns the rollups of the year of every unit in the subtree that has one,
	// ordered by unit; units whose cadres all left may have an empty Tally.
	ListRollups(ctx context.Context, year int, unitPrefix string) ([]UnitRollup, error)
}
