package localrun

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Route is one route of the HTTP API: Method ("GET", …, or "ANY"), Path in API Gateway's form
// ("/v1/cadres/{cadre_id}", "/files/{proxy+}", or "$default") and the function it invokes.
type Route struct {
	Method   string
	Path     string
	Function string
}

// RouteKey is API Gateway's name of the route: "METHOD /path" or "$default".
func (r Route) RouteKey() string {
	if r.Path == "$default" {
		return "$default"
	}
	return strings.ToUpper(r.Method) + " " + r.Path
}

type segment struct {
	literal string
	param   string // {name}: one whole segment
	greedy  bool   // {name+}: the rest of the path, at least one segment
}

type compiledRoute struct {
	Route
	segs []segment
}

// router matches requests as API Gateway HTTP APIs do: the most specific route wins (a literal
// segment beats a parameter, a parameter beats a greedy parameter, a route for the method beats
// ANY), then $default; no match is API Gateway's 404 {"message":"Not Found"}.
type router struct {
	routes []compiledRoute
	def    *Route
}

func newRouter(routes []Route) (*router, error) {
	rt := &router{}
	seen := map[string]bool{}
	for _, r := range routes {
		if r.Function == "" {
			return nil, fmt.Errorf("route %s: no function", r.RouteKey())
		}
		if seen[r.RouteKey()] {
			return nil, fmt.Errorf("route %s is defined twice", r.RouteKey())
		}
		seen[r.RouteKey()] = true
		if r.Path == "$default" {
			r := r
			rt.def = &r
			continue
		}
		if !strings.HasPrefix(r.Path, "/") {
			return nil, fmt.Errorf("route %s: path must start with /", r.RouteKey())
		}
		cr := compiledRoute{Route: r}
		cr.Method = strings.ToUpper(r.Method)
		parts := strings.Split(strings.TrimPrefix(r.Path, "/"), "/")
		for i, p := range parts {
			switch {
			case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}"):
				if i != len(parts)-1 {
					return nil, fmt.Errorf("route %s: a greedy parameter must be the last segment", r.RouteKey())
				}
				cr.segs = append(cr.segs, segment{param: p[1 : len(p)-2], greedy: true})
			case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
				cr.segs = append(cr.segs, segment{param: p[1 : len(p)-1]})
			case strings.ContainsAny(p, "{}"):
				return nil, fmt.Errorf("route %s: a parameter must be a whole segment", r.RouteKey())
			default:
				cr.segs = append(cr.segs, segment{literal: p})
			}
		}
		rt.routes = append(rt.routes, cr)
	}
	// Most specific first: compare segment by segment (literal < param < greedy), then a
	// concrete method before ANY.
	sort.SliceStable(rt.routes, func(i, j int) bool {
		a, b := rt.routes[i], rt.routes[j]
		for k := 0; k < len(a.segs) && k < len(b.segs); k++ {
			if ra, rb := a.segs[k].rank(), b.segs[k].rank(); ra != rb {
				return ra < rb
			}
		}
		if len(a.segs) != len(b.segs) {
			return len(a.segs) > len(b.segs)
		}
		return a.Method != "ANY" && b.Method == "ANY"
	})
	return rt, nil
}

func (s segment) rank() int {
	switch {
	case s.greedy:
		return 2
	case s.param != "":
		return 1
	}
	return 0
}

// match finds the route for method and the raw (escaped) path, with its path parameters
// (URL-decoded, as API Gateway passes them). ok is false when nothing matches.
func (rt *router) match(method, rawPath string) (Route, map[string]string, bool) {
	parts := strings.Split(strings.TrimPrefix(rawPath, "/"), "/")
	for _, cr := range rt.routes {
		if cr.Method != "ANY" && cr.Method != method {
			continue
		}
		if params, ok := cr.matchPath(parts); ok {
			return cr.Route, params, true
		}
	}
	if rt.def != nil {
		return *rt.def, nil, true
	}
	return Route{}, nil, false
}

func (cr compiledRoute) matchPath(parts []string) (map[string]string, bool) {
	var params map[string]string
	set := func(k, raw string) bool {
		v, err := url.PathUnescape(raw)
		if err != nil {
			return false
		}
		if params == nil {
			params = map[string]string{}
		}
		params[k] = v
		return true
	}
	for i, s := range cr.segs {
		if s.greedy {
			rest := strings.Join(parts[i:], "/")
			if i >= len(parts) || rest == "" {
				return nil, false
			}
			return params, set(s.param, rest)
		}
		if i >= len(parts) {
			return nil, false
		}
		switch {
		case s.param != "":
			if parts[i] == "" || !set(s.param, parts[i]) {
				return nil, false
			}
		case parts[i] != s.literal:
			return nil, false
		}
	}
	return params, len(parts) == len(cr.segs)
}
