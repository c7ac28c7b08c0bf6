package training

import "io/fs"

// Rules is one set of training rules: the policies (oldest first) and the local crediting
// overlays. The default set is embedded (policies/ and overlays/ of this package); a server may
// load another from files, and a policy change, a new rank or an overlay is a file, not code.
type Rules struct {
	Policies []*Policy
	Overlays *OverlaySet
}

// DefaultRules are the embedded policies and overlays.
func DefaultRules() *Rules { return defaultRules }

// LoadRules reads policies/*.json (at least one) and overlays/*.json (optional) from fsys.
func LoadRules(fsys fs.FS) (*Rules, error) {
	ps, err := loadPolicies(fsys)
	if err != nil {
		return nil, err
	}
	ovs, err := LoadOverlays(fsys, "overlays", ps)
	if err != nil {
		return nil, err
	}
	return &Rules{Policies: ps, Overlays: ovs}, nil
}

// WithOverlays returns a copy of r with the overlays of dir in fsys instead of r's own: the
// server's overlay directory. A bad file is an *OverlayError naming file and field.
func (r *Rules) WithOverlays(fsys fs.FS, dir string) (*Rules, error) {
	ovs, err := LoadOverlays(fsys, dir, r.Policies)
	if err != nil {
		return nil, err
	}
	return &Rules{Policies: r.Policies, Overlays: ovs}, nil
}

// PolicyFor returns the policy in force on d: the latest whose effective_from is on or before d.
// A policy stays in force until a newer one takes effect (its plan periods continue in
// five-year blocks, docs/rules.md “Evaluation”). Before the first policy there is none: EINVALID.
func (r *Rules) PolicyFor(d Date) (*Policy, error) {
	var in *Policy
	for _, p := range r.Policies {
		if !p.EffectiveFrom.After(d) {
			in = p
		}
	}
	if in == nil {
		return nil, Errorf(EINVALID, "no training policy is in force on %s (the first takes effect %s)", d, r.Policies[0].EffectiveFrom)
	}
	return in, nil
}
