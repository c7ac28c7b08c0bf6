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
