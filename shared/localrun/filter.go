package localrun

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Filter is a compiled Lambda event-filtering pattern (the FilterCriteria of an event source
// mapping). Only the subset of the syntax that template.yaml uses is implemented; CompileFilter
// rejects everything else, so a pattern the local server cannot evaluate fails at startup instead
// of silently letting records through or holding them back.
//
// The subset:
//   - the pattern is a JSON object; every key must match (AND);
//   - a key's value is either a nested object (matched against the event's object at that key)
//     or a non-empty array of matchers, any of which may match (OR);
//   - a matcher is a JSON string, number, boolean or null (equality with the event's value;
//     numbers compare numerically), or {"prefix": "<string>"} (the event's value is a string
//     starting with it);
//   - a key absent from the event never matches; when the event's value is an array, the matcher
//     is applied to each element and any match is enough (as Lambda does).
//
// Not implemented (CompileFilter returns an error): "anything-but", "numeric", "exists", "suffix",
// "equals-ignore-case", "wildcard", "cidr", "$or", prefix objects with options, and any other
// operator object.
type Filter struct {
	root fieldSet
}

type fieldSet map[string]node

// node is either a nested set of fields or a list of matchers.
type node struct {
	fields   fieldSet
	matchers []matcher
}

type matcher struct {
	prefix   *string
	equal    any // string, float64, bool or nil (with isNull)
	isNull   bool
	isPrefix bool
}

// CompileFilter parses one pattern.
func CompileFilter(pattern string) (*Filter, error) {
	dec := json.NewDecoder(strings.NewReader(pattern))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("filter pattern %s: not JSON: %w", pattern, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("filter pattern %s: trailing data", pattern)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("filter pattern %s: must be a JSON object", pattern)
	}
	fs, err := compileFields(obj, "")
	if err != nil {
		return nil, fmt.Errorf("filter pattern %s: %w", pattern, err)
	}
	return &Filter{root: fs}, nil
}

func compileFields(obj map[string]any, path string) (fieldSet, error) {
	if len(obj) == 0 {
		return nil, fmt.Errorf("%s: empty object", where(path))
	}
	fs := fieldSet{}
	for _, k := range sortedKeys(obj) {
		p := path + "." + k
		if strings.HasPrefix(k, "$") {
			return nil, fmt.Errorf("%s: operator %q is not supported by the local server", where(p), k)
		}
		switch v := obj[k].(type) {
		case map[string]any:
			sub, err := compileFields(v, p)
			if err != nil {
				return nil, err
			}
			fs[k] = node{fields: sub}
		case []any:
			if len(v) == 0 {
				return nil, fmt.Errorf("%s: empty array of matchers", where(p))
			}
			var ms []matcher
			for _, m := range v {
				cm, err := compileMatcher(m, p)
				if err != nil {
					return nil, err
				}
				ms = append(ms, cm)
			}
			fs[k] = node{matchers: ms}
		default:
			return nil, fmt.Errorf("%s: a value must be an object or an array of matchers", where(p))
		}
	}
	return fs, nil
}

func compileMatcher(m any, path string) (matcher, error) {
	switch v := m.(type) {
	case nil:
		return matcher{isNull: true}, nil
	case string, bool:
		return matcher{equal: v}, nil
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return matcher{}, fmt.Errorf("%s: number %s: %w", where(path), v, err)
		}
		return matcher{equal: f}, nil
	case map[string]any:
		if len(v) != 1 {
			return matcher{}, fmt.Errorf("%s: a matcher object must have exactly one operator", where(path))
		}
		for op, arg := range v {
			if op != "prefix" {
				return matcher{}, fmt.Errorf("%s: matcher %q is not supported by the local server (only equality and \"prefix\")", where(path), op)
			}
			s, ok := arg.(string)
			if !ok {
				return matcher{}, fmt.Errorf("%s: \"prefix\" needs a string", where(path))
			}
			return matcher{prefix: &s, isPrefix: true}, nil
		}
	}
	return matcher{}, fmt.Errorf("%s: unsupported matcher %v", where(path), m)
}

func where(path string) string {
	if path == "" {
		return "pattern"
	}
	return strings.TrimPrefix(path, ".")
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Match reports whether the event (any JSON value, normally an object) matches the pattern.
func (f *Filter) Match(event []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(event))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return false
	}
	return f.MatchValue(v)
}

// MatchValue is Match on an already decoded value (from json.Decoder with UseNumber, or plain
// float64 numbers).
func (f *Filter) MatchValue(v any) bool {
	obj, ok := v.(map[string]any)
	return ok && matchFields(f.root, obj)
}

func matchFields(fs fieldSet, obj map[string]any) bool {
	for k, n := range fs {
		v, present := obj[k]
		if !present {
			return false
		}
		if n.fields != nil {
			sub, ok := v.(map[string]any)
			if !ok || !matchFields(n.fields, sub) {
				return false
			}
			continue
		}
		if !matchAny(n.matchers, v) {
			return false
		}
	}
	return true
}

func matchAny(ms []matcher, v any) bool {
	if arr, ok := v.([]any); ok {
		for _, el := range arr {
			if matchAny(ms, el) {
				return true
			}
		}
		return false
	}
	for _, m := range ms {
		if m.match(v) {
			return true
		}
	}
	return false
}

func (m matcher) match(v any) bool {
	switch {
	case m.isNull:
		return v == nil
	case m.isPrefix:
		s, ok := v.(string)
		return ok && strings.HasPrefix(s, *m.prefix)
	}
	switch want := m.equal.(type) {
	case string:
		s, ok := v.(string)
		return ok && s == want
	case bool:
		b, ok := v.(bool)
		return ok && b == want
	case float64:
		switch n := v.(type) {
		case json.Number:
			f, err := n.Float64()
			return err == nil && f == want
		case float64:
			return n == want
		}
	}
	return false
}

// Filters is the FilterCriteria of one event source mapping: a record passes when any filter
// matches it (Lambda's rule); no filters at all lets every record through.
type Filters []*Filter

// CompileFilters compiles every pattern; the first failure is returned.
func CompileFilters(patterns []string) (Filters, error) {
	out := make(Filters, 0, len(patterns))
	for _, p := range patterns {
		f, err := CompileFilter(p)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// Match reports whether the event passes the criteria.
func (fs Filters) Match(event []byte) bool {
	if len(fs) == 0 {
		return true
	}
	for _, f := range fs {
		if f.Match(event) {
			return true
		}
	}
	return false
}
