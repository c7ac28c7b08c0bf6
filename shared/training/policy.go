package training

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"
)

// The policies are data, embedded in the binary: the rank table, the requirements, their targets
// and windows. The 2028–2032 plan is a new file in policies/, not new code (docs/rules.md §1: “The
// mapping is data (part of the policy), not code branches”).
//
// The overlays in overlays/ are the shipped local crediting rules (docs/rules.md “Local crediting
// overlays”); a server may replace them with a directory of its own (LoadRules).
//
//go:embed policies/*.json overlays/*.json
var policyFiles embed.FS

// WindowKind is how a requirement's window is laid out.
type WindowKind string

const (
	WindowCalendarYear WindowKind = "calendar_year" // 1 Jan … 31 Dec (China Standard Time)
	WindowPlanPeriod   WindowKind = "plan_period"   // the plan's five-year blocks: 2023–2027, 2028–2032, …
	// WindowAfterPromotion runs from the date of the cadre's latest promotion into one of
	// Promotion.ToRanks through that date + WithinMonths (clamped month arithmetic): 任职培训,
	// docs/rules.md “Training on promotion”.
	WindowAfterPromotion WindowKind = "after_promotion"
	// WindowAfterJoining runs from joined_on through joined_on + WithinMonths (clamped): 初任培训 in
	// the probation year, docs/rules.md “Initial training”.
	WindowAfterJoining WindowKind = "after_joining"
)

// Policy is one versioned training policy.
type Policy struct {
	ID            string        `json:"id"`
	Title         string        `json:"title"`
	EffectiveFrom Date          `json:"effective_from"`
	PlanPeriod    PlanPeriod    `json:"plan_period"`
	Sources       []string      `json:"sources"`
	Categories    []Category    `json:"categories"`
	Requirements  []Requirement `json:"requirements"`
	Plausibility  Plausibility  `json:"plausibility"`

	ranks map[string]rankInfo // code and title → rank
}

// Seniority is the rank's position in the policy's rank list (0 = most senior), -1 if unknown.
func (p *Policy) Seniority(rank string) int {
	ri, ok := p.ranks[strings.TrimSpace(rank)]
	if !ok {
		return -1
	}
	return ri.order
}

// PlanPeriod anchors the plan's multi-year blocks: Start, Start+Years, Start+2·Years, …
type PlanPeriod struct {
	Start Date `json:"start"`
	Years int  `json:"years"`
}

// Category is a quota category and the ranks in it.
type Category struct {
	ID    string    `json:"id"`
	Title string    `json:"title"`
	Ranks []RankDef `json:"ranks"`
}

// RankDef is one rank: a leadership position or a civil-service grade.
type RankDef struct {
	Code  string `json:"code"`
	Title string `json:"title"`
}

// Requirement is one quota of the policy.
type Requirement struct {
	ID string `json:"id"`
	// Source names the document and article the requirement comes from; Quote is its text.
	Source    string     `json:"source"`
	Quote     string     `json:"quote,omitempty"`
	AppliesTo AppliesTo  `json:"applies_to"`
	Window    WindowKind `json:"window"`
	// WithinMonths is the length of an after_promotion or after_joining window in calendar months.
	WithinMonths int            `json:"within_months,omitempty"`
	Promotion    *PromotionRule `json:"promotion,omitempty"`
	Prorate      *Prorate       `json:"prorate,omitempty"`
	Target       Target         `json:"target"`
	Counts       Counts         `json:"counts"`
}

// AppliesTo selects the cadres a requirement binds. Empty means everyone.
type AppliesTo struct {
	Categories []string `json:"categories,omitempty"`
	// Ranks, when given, limits the requirement to cadres whose rank in force is one of these codes.
	Ranks            []string `json:"ranks,omitempty"`
	LeadershipMember *bool    `json:"leadership_member,omitempty"`
}

// PromotionRule says what a promotion is for an after_promotion requirement: a rank-history entry
// into one of ToRanks from a less senior rank (ranks are listed most senior first in the policy).
// The requirement binds only when the records of the MetBeforeYears years before the promotion
// date did not already reach the target (“确因特殊情况在提任前未达到教育培训要求的”); those records
// count toward it.
type PromotionRule struct {
	ToRanks        []string `json:"to_ranks"`
	MetBeforeYears int      `json:"met_before_years"`
}

// ProrateRemainingWholeMonths pro-rates by the whole calendar months left in the window.
const ProrateRemainingWholeMonths = "remaining_whole_months"

// Prorate is how a window's target shrinks for a cadre who joins, or first comes under the
// requirement's category, after the window has started: target × remaining whole months / months
// of the window, rounded up to a multiple of RoundUpTo per measure (docs/rules.md “Mid-year joiners”).
type Prorate struct {
	By        string `json:"by"`
	RoundUpTo Target `json:"round_up_to"`
}

// Target is "≥ Days days or ≥ Hours 学时"; a nil measure is not part of the target.
// docs/rules.md §2: “Either measure satisfies.”
type Target struct {
	Days  *Days  `json:"days,omitempty"`
	Hours *Hours `json:"hours,omitempty"`
}

// Counts says which records count toward a requirement.
type Counts struct {
	Kind            Kind   `json:"kind"`
	InstitutionType string `json:"institution_type,omitempty"`
}

type rankInfo struct {
	def      RankDef
	category string
	order    int
}

// RankInfo is a resolved rank.
type RankInfo struct {
	Code     string
	Title    string
	Category string
}

var (
	defaultRules = mustLoadRules(policyFiles)
	policies     = defaultRules.Policies
)

func mustLoadRules(fsys fs.FS) *Rules {
	r, err := LoadRules(fsys)
	if err != nil {
		panic(err)
	}
	return r
}

func loadPolicies(fsys fs.FS) ([]*Policy, error) {
	names, err := fs.Glob(fsys, "policies/*.json")
	if err != nil {
		return nil, err
	}
	var out []*Policy
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		p, err := ParsePolicy(b)
		if err != nil {
			return nil, fmt.Errorf("policy %s: %w", n, err)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no policy files embedded")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].EffectiveFrom.Before(out[j].EffectiveFrom) })
	return out, nil
}

// ParsePolicy decodes and checks one policy document.
func ParsePolicy(b []byte) (*Policy, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, err
	}
	if p.ID == "" || p.EffectiveFrom.IsZero() || p.PlanPeriod.Start.IsZero() || p.PlanPeriod.Years <= 0 {
		return nil, fmt.Errorf("id, effective_from and plan_period are required")
	}
	if msg := p.Plausibility.check(); msg != "" {
		return nil, fmt.Errorf("%s", msg)
	}
	p.ranks = map[string]rankInfo{}
	cats := map[string]bool{}
	order := 0
	for _, c := range p.Categories {
		cats[c.ID] = true
		for _, r := range c.Ranks {
			for _, k := range []string{r.Code, r.Title} {
				if _, dup := p.ranks[k]; dup {
					return nil, fmt.Errorf("rank %q listed twice", k)
				}
				p.ranks[k] = rankInfo{def: r, category: c.ID, order: order}
			}
			order++
		}
	}
	ids := map[string]bool{}
	for i, r := range p.Requirements {
		if err := p.checkRequirement(r, cats); err != nil {
			return nil, fmt.Errorf("requirements[%d] (%s): %w", i, r.ID, err)
		}
		if ids[r.ID] {
			return nil, fmt.Errorf("requirements[%d]: id %q listed twice", i, r.ID)
		}
		ids[r.ID] = true
	}
	return &p, nil
}

// checkRequirement checks one requirement of p; the error names the offending field.
func (p *Policy) checkRequirement(r Requirement, cats map[string]bool) error {
	if r.ID == "" {
		return fmt.Errorf("id: is required")
	}
	if r.Source == "" {
		return fmt.Errorf("source: is required (name the document and article)")
	}
	if r.Target.Days == nil && r.Target.Hours == nil {
		return fmt.Errorf("target: has no measure")
	}
	if (r.Target.Days != nil && r.Target.Days.Halves() <= 0) || (r.Target.Hours != nil && *r.Target.Hours <= 0) {
		return fmt.Errorf("target: measures must be > 0")
	}
	if r.Counts.Kind != KindCentralized && r.Counts.Kind != KindOnline {
		return fmt.Errorf("counts.kind: unknown kind %q", r.Counts.Kind)
	}
	for _, c := range r.AppliesTo.Categories {
		if !cats[c] {
			return fmt.Errorf("applies_to.categories: unknown category %q", c)
		}
	}
	for _, rk := range r.AppliesTo.Ranks {
		if ri, ok := p.ranks[rk]; !ok || ri.def.Code != rk {
			return fmt.Errorf("applies_to.ranks: unknown rank code %q", rk)
		}
	}
	switch r.Window {
	case WindowCalendarYear, WindowPlanPeriod:
		if r.WithinMonths != 0 || r.Promotion != nil {
			return fmt.Errorf("within_months, promotion: only for after_promotion and after_joining windows")
		}
	case WindowAfterPromotion, WindowAfterJoining:
		if r.WithinMonths <= 0 || r.WithinMonths > 120 {
			return fmt.Errorf("within_months: must be 1…120 for window %s", r.Window)
		}
		if r.Prorate != nil {
			return fmt.Errorf("prorate: only for calendar_year and plan_period windows")
		}
		if (r.Window == WindowAfterPromotion) != (r.Promotion != nil) {
			return fmt.Errorf("promotion: required with window after_promotion and only there")
		}
	default:
		return fmt.Errorf("window: unknown window %q", r.Window)
	}
	if pr := r.Promotion; pr != nil {
		if len(pr.ToRanks) == 0 {
			return fmt.Errorf("promotion.to_ranks: is required")
		}
		for _, rk := range pr.ToRanks {
			if ri, ok := p.ranks[rk]; !ok || ri.def.Code != rk {
				return fmt.Errorf("promotion.to_ranks: unknown rank code %q", rk)
			}
		}
		if pr.MetBeforeYears < 0 || pr.MetBeforeYears > 10 {
			return fmt.Errorf("promotion.met_before_years: must be 0…10")
		}
	}
	if pr := r.Prorate; pr != nil {
		if pr.By != ProrateRemainingWholeMonths {
			return fmt.Errorf("prorate.by: must be %q", ProrateRemainingWholeMonths)
		}
		u := pr.RoundUpTo
		if (r.Target.Days != nil) != (u.Days != nil) || (r.Target.Hours != nil) != (u.Hours != nil) {
			return fmt.Errorf("prorate.round_up_to: needs exactly the target's measures")
		}
		if (u.Days != nil && u.Days.Halves() <= 0) || (u.Hours != nil && *u.Hours <= 0) {
			return fmt.Errorf("prorate.round_up_to: units must be > 0")
		}
	}
	return nil
}

// PolicyFor returns the embedded policy in force on d (Rules.PolicyFor of the default rules).
func PolicyFor(d Date) (*Policy, error) { return defaultRules.PolicyFor(d) }

// CurrentPolicy is the policy in force today (China Standard Time), or the first one.
func CurrentPolicy(now time.Time) *Policy {
	if p, err := PolicyFor(Today(now)); err == nil {
		return p
	}
	return policies[0]
}

// LookupRank resolves a rank code or official Chinese title.
func (p *Policy) LookupRank(s string) (RankInfo, bool) {
	ri, ok := p.ranks[strings.TrimSpace(s)]
	if !ok {
		return RankInfo{}, false
	}
	return RankInfo{Code: ri.def.Code, Title: ri.def.Title, Category: ri.category}, true
}

// RankCodes lists the accepted rank codes, in policy order (for error messages).
func (p *Policy) RankCodes() []string {
	var out []string
	for _, c := range p.Categories {
		for _, r := range c.Ranks {
			out = append(out, r.Code)
		}
	}
	return out
}

// WindowOf returns the window of the given kind that contains d.
// Calendar years run 1 Jan–31 Dec; plan periods are Years-long blocks from PlanPeriod.Start
// (2023-01-01…2027-12-31, 2028-01-01…2032-12-31, …, and backwards likewise).
func (p *Policy) WindowOf(kind WindowKind, d Date) Window {
	switch kind {
	case WindowCalendarYear:
		return Window{Start: Date{d.Year, time.January, 1}, End: Date{d.Year, time.December, 31}}
	default:
		y0, n := p.PlanPeriod.Start.Year, p.PlanPeriod.Years
		k := (d.Year - y0)
		if k < 0 {
			k -= n - 1
		}
		start := y0 + (k/n)*n
		return Window{Start: Date{start, time.January, 1}, End: Date{start + n - 1, time.December, 31}}
	}
}
