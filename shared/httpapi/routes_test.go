package httpapi_test

import (
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/cadre-training/cadretrain/shared/httpapi"
)

// samTemplate is the part of template.yaml the route check reads.
type samTemplate struct {
	Resources map[string]struct {
		Type       string `yaml:"Type"`
		Properties struct {
			CodeUri string `yaml:"CodeUri"`
			Events  map[string]struct {
				Type       string `yaml:"Type"`
				Properties struct {
					Method string `yaml:"Method"`
					Path   string `yaml:"Path"`
				} `yaml:"Properties"`
			} `yaml:"Events"`
		} `yaml:"Properties"`
	} `yaml:"Resources"`
}

// TestRoutesMatchTemplate: template.yaml's HttpApi events are exactly the route table (method,
// path, function), plus hr-api's $default route, so a route cannot exist in one and not the other.
func TestRoutesMatchTemplate(t *testing.T) {
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tpl samTemplate
	if err := yaml.Unmarshal(b, &tpl); err != nil {
		t.Fatal(err)
	}
	var inTemplate []string
	defaults := 0
	for id, res := range tpl.Resources {
		if res.Type != "AWS::Serverless::Function" {
			continue
		}
		fn := path.Base(strings.TrimSuffix(res.Properties.CodeUri, "/"))
		for name, ev := range res.Properties.Events {
			if ev.Type != "HttpApi" {
				continue
			}
			if ev.Properties.Method == "" && ev.Properties.Path == "" {
				if fn != httpapi.FnHRAPI {
					t.Errorf("%s.%s: the $default route belongs to %s, not %s", id, name, httpapi.FnHRAPI, fn)
				}
				defaults++
				continue
			}
			inTemplate = append(inTemplate, ev.Properties.Method+" "+ev.Properties.Path+" → "+fn)
		}
	}
	var inTable []string
	for _, r := range httpapi.Routes() {
		inTable = append(inTable, r.Method+" "+r.Path+" → "+r.Function)
	}
	slices.Sort(inTemplate)
	slices.Sort(inTable)
	if !slices.Equal(inTemplate, inTable) {
		t.Errorf("template.yaml routes:\n  %s\nroute table:\n  %s", strings.Join(inTemplate, "\n  "), strings.Join(inTable, "\n  "))
	}
	if defaults != 1 {
		t.Errorf("%d $default routes, want 1 (on %s)", defaults, httpapi.FnHRAPI)
	}
	for _, fn := range []string{httpapi.FnHRAPI, httpapi.FnRecordSelfStudy, httpapi.FnIngestCompletions, httpapi.FnRecomputeQuota, httpapi.FnWriteFormEntries} {
		if _, err := os.Stat("../../functions/" + fn + "/main.go"); err != nil {
			t.Errorf("function %s: %v", fn, err)
		}
	}
}

// TestFunctionsOwnTheirRoutes: each Lambda function's routes name it, so the function a route's
// code is linked into (its main names its httpapi.Function) is the one template.yaml routes it to.
func TestFunctionsOwnTheirRoutes(t *testing.T) {
	n := 0
	for _, fn := range httpapi.Functions() {
		if len(fn.Routes()) == 0 {
			t.Errorf("%s has no routes", fn.Name)
		}
		for _, r := range fn.Routes() {
			if r.Function != fn.Name {
				t.Errorf("%s %s is in %s's routes but names %s", r.Method, r.Path, fn.Name, r.Function)
			}
			n++
		}
	}
	if n != len(httpapi.Routes()) {
		t.Errorf("the functions have %d routes, the table %d", n, len(httpapi.Routes()))
	}
}
