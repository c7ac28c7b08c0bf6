package localrun

import (
	"strings"
	"testing"
)

// TestSpecFromRepoTemplate reads the repository's template.yaml: every route of API.md, both
// stream consumers with their filters, and the daily schedule at 02:00 Asia/Shanghai.
func TestSpecFromRepoTemplate(t *testing.T) {
	spec, err := LoadSpec("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]string{}
	for _, r := range spec.Routes {
		routes[r.RouteKey()] = r.Function
	}
	for key, fn := range map[string]string{
		"PUT /v1/cadres/{cadre_id}":                     "hr-api",
		"GET /v1/cadres/{cadre_id}":                     "hr-api",
		"GET /v1/cadres/{cadre_id}/records":             "hr-api",
		"POST /v1/records/{record_id}/void":             "hr-api",
		"GET /v1/cadres/{cadre_id}/quota-status":        "hr-api",
		"GET /v1/cadres/{cadre_id}/appointment-records": "hr-api",
		"GET /v1/cadres/{cadre_id}/appraisal-records":   "hr-api",
		"GET /v1/health":                                "hr-api",
		"GET /v1/policies":                              "hr-api",
		"POST /v1/cadres/{cadre_id}/self-study":         "record-self-study",
		"POST /v1/webhooks/completions/{platform_id}":   "ingest-completions",
		"POST /v1/recompute":                            "recompute-quota",
		"$default":                                      "hr-api",
	} {
		if routes[key] != fn {
			t.Errorf("route %s → %q, want %q", key, routes[key], fn)
		}
	}
	if len(spec.Routes) != 13 {
		t.Errorf("%d routes, want 13 (API.md's 11, GET /v1/policies and $default)", len(spec.Routes))
	}
	consumers := map[string]Consumer{}
	for _, c := range spec.Consumers {
		consumers[c.Function] = c
		if _, err := CompileFilters(c.Filters); err != nil {
			t.Errorf("consumer %s: %v", c.Function, err)
		}
		if c.BatchSize != 100 || c.MaxRetries != 5 || !c.Bisect || !c.ReportBatchItemFailures {
			t.Errorf("consumer %+v: want batch 100, 5 retries, bisect, batch item failures", c)
		}
	}
	if len(consumers) != 2 || len(consumers["recompute-quota"].Filters) != 1 || !strings.Contains(consumers["write-form-entries"].Filters[0], "full_time") {
		t.Errorf("consumers %+v", consumers)
	}
	if len(spec.Schedules) != 1 {
		t.Fatalf("schedules %+v, want one", spec.Schedules)
	}
	s := spec.Schedules[0]
	if s.Function != "recompute-quota" || s.Expression != "cron(0 2 * * ? *)" || s.Timezone != "Asia/Shanghai" || s.Source != "aws.scheduler" || s.Retries != 2 {
		t.Errorf("schedule %+v", s)
	}
	if spec.AsyncRetries["recompute-quota"] != 1 {
		t.Errorf("async retries of recompute-quota %d, want 1 (EventInvokeConfig)", spec.AsyncRetries["recompute-quota"])
	}
}
