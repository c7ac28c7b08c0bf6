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
// and windows. The 2028–2032 plan is a new file in policies/, not new code (RULES.md §1: “The
// mapping is data (part of the policy), not code branches”).
//
//go:embed policies/*.json
var policyFiles embed.FS

// WindowKind is how a requirement's window is laid out.
type WindowKind string

const (
	WindowCalendarYear WindowKind = "calendar_year" // 1 Jan … 31 Dec (China Standard Time)
	WindowPlanPeriod   WindowKind = "plan_period"   // the plan's five-year blocks: 2023–2027, 2028–2032, …
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

	ranks map[string]rankInfo // code and title → rank
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
	ID        string     `json:"id"`
	Source    string     `json:"source"`
	AppliesTo AppliesTo  `json:"applies_to"`
	Window    WindowKind `json:"window"`
	Target    Target     `json:"target"`
	Counts    Counts     `json:"counts"`
}

// AppliesTo selects the cadres a requirement binds. Empty means everyone.
type AppliesTo struct {
	Categories       []string `json:"categories,omitempty"`
	LeadershipMember *bool    `json:"leadership_member,omitempty"`
}

// Target is "≥ Days days or ≥ Hours 学时"; a nil measure is not part of the target.
// RULES.md §2: “Either measure satisfies.”
type Target struct {
	Days  *int   `json:"days,omitempty"`
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
}

// RankInfo is a resolved rank.
type RankInfo struct {
	Code     string
	Title    string
	Category string
}

var policies = mustLoadPolicies(policyFiles)

func mustLoadPolicies(fsys fs.FS) []*Policy {
	ps, err := loadPolicies(fsys)
	if err != nil {
		panic(err)
	}
	return ps
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
	p.ranks = map[string]rankInfo{}
	cats := map[string]bool{}
	for _, c := range p.Categories {
		cats[c.ID] = true
		for _, r := range c.Ranks {
			for _, k := range []string{r.Code, r.Title} {
				if _, dup := p.ranks[k]; dup {
					return nil, fmt.Errorf("rank %q listed twice", k)
				}
				p.ranks[k] = rankInfo{def: r, category: c.ID}
			}
		}
	}
	for _, r := range p.Requirements {
		if r.Target.Days == nil && r.Target.Hours == nil {
			return nil, fmt.Errorf("requirement %s has no target", r.ID)
		}
		if r.Window != WindowCalendarYear && r.Window != WindowPlanPeriod {
			return nil, fmt.Errorf("requirement %s: unknown window %q", r.ID, r.Window)
		}
		if r.Counts.Kind != KindCentralized && r.Counts.Kind != KindOnline {
			return nil, fmt.Errorf("requirement %s: unknown kind %q", r.ID, r.Counts.Kind)
		}
		for _, c := range r.AppliesTo.Categories {
			if !cats[c] {
				return nil, fmt.Errorf("requirement %s: unknown category %q", r.ID, c)
			}
		}
	}
	return &p, nil
}

// Policies returns the embedded policies, oldest first.
func Policies() []*Policy { return policies }

// PolicyFor returns the policy in force on d: the latest whose effective_from is on or before d.
// A policy stays in force until a newer one takes effect (its plan periods continue in
// five-year blocks, RULES.md §2). Before the first policy there is none: EINVALID.
func PolicyFor(d Date) (*Policy, error) {
	var in *Policy
	for _, p := range policies {
		if !p.EffectiveFrom.After(d) {
			in = p
		}
	}
	if in == nil {
		return nil, Errorf(EINVALID, "no training policy is in force on %s (the first takes effect %s)", d, policies[0].EffectiveFrom)
	}
	return in, nil
}

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
