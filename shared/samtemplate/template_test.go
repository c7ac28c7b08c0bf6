package samtemplate_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cadre-training/cadretrain/shared/dynamo"
	"github.com/cadre-training/cadretrain/shared/samtemplate"
	"github.com/cadre-training/cadretrain/shared/training"
)

const repoRoot = "../.."

// apiRoutes is the route table of API.md (the HTTP contract) and the function serving each route.
var apiRoutes = []samtemplate.Route{
	{Method: "PUT", Path: "/v1/cadres/{cadre_id}", Function: "hr-api"},
	{Method: "GET", Path: "/v1/cadres/{cadre_id}", Function: "hr-api"},
	{Method: "POST", Path: "/v1/webhooks/completions/{platform_id}", Function: "ingest-completions"},
	{Method: "POST", Path: "/v1/cadres/{cadre_id}/self-study", Function: "record-self-study"},
	{Method: "GET", Path: "/v1/cadres/{cadre_id}/records", Function: "hr-api"},
	{Method: "POST", Path: "/v1/records/{record_id}/void", Function: "hr-api"},
	{Method: "GET", Path: "/v1/cadres/{cadre_id}/quota-status", Function: "hr-api"},
	{Method: "GET", Path: "/v1/cadres/{cadre_id}/appointment-records", Function: "hr-api"},
	{Method: "GET", Path: "/v1/cadres/{cadre_id}/appraisal-records", Function: "hr-api"},
	{Method: "POST", Path: "/v1/recompute", Function: "recompute-quota"},
	{Method: "GET", Path: "/v1/health", Function: "hr-api"},
}

// laterRoutes are routes added after the original HTTP contract: GET /v1/policies lists the
// policies and local crediting overlays (docs/rules.md “Local crediting overlays”).
var laterRoutes = []samtemplate.Route{
	{Method: "GET", Path: "/v1/policies", Function: "hr-api"},
}

// defaultRoute catches every request no route of API.md matches, so that it too gets a
// problem+json 404 from hr-api instead of API Gateway's own {"message":"Not Found"}.
var defaultRoute = samtemplate.Route{Method: "ANY", Path: "$default", Function: "hr-api"}

func mustLoad(tb testing.TB) *samtemplate.Template {
	tb.Helper()
	tpl, err := samtemplate.Load(filepath.Join(repoRoot, "template.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	return tpl
}

func routeKey(r samtemplate.Route) string { return r.Method + " " + r.Path }

func TestFunctionFolders(t *testing.T) {
	tpl := mustLoad(t)
	if got, want := len(tpl.Functions), 5; got != want {
		t.Errorf("%d functions, want %d", got, want)
	}
	for _, f := range tpl.Functions {
		t.Run(f.Name, func(t *testing.T) {
			if got, want := f.CodeURI, "functions/"+f.Name+"/"; got != want {
				t.Errorf("%s: CodeUri=%q, want %q", f.LogicalID, got, want)
			}
			dir := filepath.Join(repoRoot, filepath.FromSlash(f.CodeURI))
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				t.Fatalf("%s: CodeUri %s is not a folder of the repo (%v): sam build would fail", f.LogicalID, f.CodeURI, err)
			}
			if _, err := os.Stat(filepath.Join(dir, "main.go")); err != nil {
				t.Fatalf("%s: %smain.go is missing: the function has no command to build (%v)", f.LogicalID, f.CodeURI, err)
			}
		})
	}
}

func TestBuildSettings(t *testing.T) {
	for _, f := range mustLoad(t).Functions {
		t.Run(f.Name, func(t *testing.T) {
			if got, want := f.Runtime, "provided.al2023"; got != want {
				t.Errorf("Runtime=%q, want %q", got, want)
			}
			if got, want := f.Architectures, []string{"arm64"}; !reflect.DeepEqual(got, want) {
				t.Errorf("Architectures=%q, want %q", got, want)
			}
			if got, want := f.Handler, "bootstrap"; got != want {
				t.Errorf("Handler=%q, want %q", got, want)
			}
			if got, want := f.BuildMethod, "go1.x"; got != want {
				t.Errorf("Metadata.BuildMethod=%q, want %q", got, want)
			}
			for _, env := range []string{"TABLE_NAME", "CADRE_CONFIG_SECRET"} {
				if f.Environment[env] == "" {
					t.Errorf("environment variable %s is not set", env)
				}
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	tpl := mustLoad(t)
	got := map[string]samtemplate.Route{}
	for _, r := range tpl.Routes() {
		if prev, dup := got[routeKey(r)]; dup {
			t.Errorf("route %s is defined twice (%s and %s)", routeKey(r), prev.Function, r.Function)
		}
		got[routeKey(r)] = r
	}
	want := map[string]samtemplate.Route{}
	for _, r := range append(append(apiRoutes, laterRoutes...), defaultRoute) {
		want[routeKey(r)] = r
		g, ok := got[routeKey(r)]
		switch {
		case !ok:
			t.Errorf("route %s of API.md is not in template.yaml", routeKey(r))
		case g.Function != r.Function:
			t.Errorf("route %s reaches %s, want %s", routeKey(r), g.Function, r.Function)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("route %s is in template.yaml but not in API.md", k)
		}
	}
	for _, r := range tpl.Routes() {
		if _, ok := tpl.Function(r.Function); !ok {
			t.Errorf("route %s: no function %s", routeKey(r), r.Function)
		}
	}
}

// TestRoutesMatchAPIDoc checks that the table above is API.md's, when the spec is beside the repo.
func TestRoutesMatchAPIDoc(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "..", "shared", "API.md"))
	if err != nil {
		t.Skipf("API.md not beside the repository: %v", err)
	}
	re := regexp.MustCompile("`(GET|PUT|POST|PATCH|DELETE) (/v1/[^`?\\s]*)")
	var doc, table []string
	seen := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		if k := m[1] + " " + m[2]; !seen[k] {
			seen[k] = true
			doc = append(doc, k)
		}
	}
	for _, r := range apiRoutes {
		table = append(table, routeKey(r))
	}
	sort.Strings(doc)
	sort.Strings(table)
	if !reflect.DeepEqual(doc, table) {
		t.Errorf("API.md routes:\n  %s\nthis test's table:\n  %s", strings.Join(doc, "\n  "), strings.Join(table, "\n  "))
	}
}

func TestStreamConsumers(t *testing.T) {
	tpl := mustLoad(t)
	cs := tpl.StreamConsumers()
	byFn := map[string]samtemplate.StreamConsumer{}
	for _, c := range cs {
		byFn[c.Function] = c
	}
	if got, want := len(cs), 2; got != want {
		t.Errorf("%d stream consumers, want %d", got, want)
	}
	for _, name := range []string{"recompute-quota", "write-form-entries"} {
		c, ok := byFn[name]
		if !ok {
			t.Errorf("%s does not consume the table's stream", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			if c.Table == "" {
				t.Fatalf("stream %q is not !GetAtt <table>.StreamArn", c.Stream)
			}
			if _, ok := tpl.Table(c.Table); !ok {
				t.Errorf("stream of %s, which is not a table of the template", c.Table)
			}
			if !c.ReportsBatchItemFailures() {
				t.Errorf("FunctionResponseTypes=%q, want ReportBatchItemFailures", c.FunctionResponseTypes)
			}
			if !c.BisectBatchOnFunctionError {
				t.Error("BisectBatchOnFunctionError is not true")
			}
			if c.MaximumRetryAttempts < 0 || c.MaximumRetryAttempts > 10 {
				t.Errorf("MaximumRetryAttempts=%d, want bounded (0..10)", c.MaximumRetryAttempts)
			}
			if c.MaximumRecordAgeInSeconds < 60 || c.MaximumRecordAgeInSeconds > 86400 {
				t.Errorf("MaximumRecordAgeInSeconds=%d, want set (60..86400)", c.MaximumRecordAgeInSeconds)
			}
			if c.MaximumBatchingWindowInSeconds > 1 {
				t.Errorf("MaximumBatchingWindowInSeconds=%d, want ≤ 1 (changes reach handlers within a second)", c.MaximumBatchingWindowInSeconds)
			}
			if c.BatchSize < 1 {
				t.Errorf("BatchSize=%d, want set", c.BatchSize)
			}
			if c.OnFailure == "" {
				t.Error("no DestinationConfig.OnFailure")
			}
			if c.StartingPosition != "TRIM_HORIZON" && c.StartingPosition != "LATEST" {
				t.Errorf("StartingPosition=%q", c.StartingPosition)
			}
			if len(c.Filters) == 0 {
				t.Error("no FilterCriteria: it would see every item of the table (snapshots, form entries)")
			}
			for _, p := range c.Filters {
				var v map[string]any
				if err := json.Unmarshal([]byte(p), &v); err != nil {
					t.Errorf("filter pattern %s is not a JSON object: %v", p, err)
				}
			}
		})
	}
}

// TestStreamFilters runs the filters on stream records built the way shared/dynamo builds them
// (the same item format the store writes), so attribute names cannot drift.
func TestStreamFilters(t *testing.T) {
	tpl := mustLoad(t)
	rec := func(id string, fullTime bool, voided bool) *training.Record {
		r := &training.Record{ID: id, CadreID: "c-001", Source: "p1", ExternalID: "e-" + id, FullTime: fullTime, Status: "active"}
		if fullTime {
			r.Kind = training.KindCentralized
		} else {
			r.Kind = training.KindOnline
		}
		if voided {
			r.Status = "voided"
		}
		return r
	}
	eventJSON := func(c training.Change) map[string]any {
		t.Helper()
		er, err := dynamo.EventRecordFromChange(c, "t")
		if err != nil {
			t.Fatal(err)
		}
		return toJSONMap(t, er)
	}
	snapshot := toJSONMap(t, events.DynamoDBEventRecord{
		EventName: "MODIFY", EventSource: "aws:dynamodb",
		Change: events.DynamoDBStreamRecord{
			Keys: map[string]events.DynamoDBAttributeValue{
				"pk": events.NewStringAttribute("CADRE#c-001"), "sk": events.NewStringAttribute("STATUS"),
			},
			NewImage: map[string]events.DynamoDBAttributeValue{
				"pk": events.NewStringAttribute("CADRE#c-001"), "sk": events.NewStringAttribute("STATUS"),
				"full_time": events.NewBooleanAttribute(true),
			},
		},
	})
	cases := map[string]map[string]any{
		"InsertFullTime": eventJSON(training.Change{Seq: "1", Kind: training.ChangeInsert, CadreID: "c-001", RecordID: "r1", New: rec("r1", true, false)}),
		"VoidFullTime":   eventJSON(training.Change{Seq: "2", Kind: training.ChangeModify, CadreID: "c-001", RecordID: "r1", Old: rec("r1", true, false), New: rec("r1", true, true)}),
		"InsertOnline":   eventJSON(training.Change{Seq: "3", Kind: training.ChangeInsert, CadreID: "c-001", RecordID: "r2", New: rec("r2", false, false)}),
		"VoidOnline":     eventJSON(training.Change{Seq: "4", Kind: training.ChangeModify, CadreID: "c-001", RecordID: "r2", Old: rec("r2", false, false), New: rec("r2", false, true)}),
		"Snapshot":       snapshot,
	}
	want := map[string]map[string]bool{
		"write-form-entries": {"InsertFullTime": true, "VoidFullTime": true},
		"recompute-quota":    {"InsertFullTime": true, "VoidFullTime": true, "InsertOnline": true, "VoidOnline": true},
	}
	for _, c := range tpl.StreamConsumers() {
		for name, ev := range cases {
			t.Run(c.Function+"/"+name, func(t *testing.T) {
				passes := len(c.Filters) == 0
				for _, p := range c.Filters {
					var pat map[string]any
					if err := json.Unmarshal([]byte(p), &pat); err != nil {
						t.Fatal(err)
					}
					passes = passes || matches(t, pat, ev)
				}
				if got, want := passes, want[c.Function][name]; got != want {
					t.Errorf("filter passes %s: %v, want %v (filters %q)", name, got, want, c.Filters)
				}
			})
		}
	}
}

func toJSONMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// matches evaluates the part of Lambda's filter syntax the template may use (nested objects,
// arrays of exact values, {"prefix": …}); anything else fails the test.
func matches(t *testing.T, pattern map[string]any, ev map[string]any) bool {
	t.Helper()
	for k, p := range pattern {
		v, ok := ev[k]
		if !ok {
			return false
		}
		switch p := p.(type) {
		case map[string]any:
			sub, ok := v.(map[string]any)
			if !ok || !matches(t, p, sub) {
				return false
			}
		case []any:
			hit := false
			for _, m := range p {
				if o, ok := m.(map[string]any); ok {
					prefix, ok := o["prefix"].(string)
					if !ok || len(o) != 1 {
						t.Fatalf("filter operator %v is not supported by this test", o)
					}
					if s, ok := v.(string); ok && strings.HasPrefix(s, prefix) {
						hit = true
					}
				} else if reflect.DeepEqual(m, v) {
					hit = true
				}
			}
			if !hit {
				return false
			}
		default:
			t.Fatalf("filter value %v for %q: want an object or an array", p, k)
		}
	}
	return true
}

func TestSchedule(t *testing.T) {
	ss := mustLoad(t).Schedules()
	if len(ss) != 1 {
		t.Fatalf("schedules %+v, want exactly one", ss)
	}
	s := ss[0]
	if got, want := s.Function, "recompute-quota"; got != want {
		t.Errorf("schedule invokes %s, want %s", got, want)
	}
	if !s.Enabled {
		t.Error("the schedule is disabled")
	}
	// 02:00 China Standard Time (UTC+8, no DST) every day, written either way.
	switch s.Timezone {
	case "Asia/Shanghai":
		if got, want := s.Expression, "cron(0 2 * * ? *)"; got != want {
			t.Errorf("Expression=%q in Asia/Shanghai, want %q", got, want)
		}
	case "", "UTC", "Etc/UTC":
		if got, want := s.Expression, "cron(0 18 * * ? *)"; got != want {
			t.Errorf("Expression=%q in UTC, want %q (02:00 UTC+8)", got, want)
		}
	default:
		t.Errorf("Timezone=%q, want Asia/Shanghai or UTC", s.Timezone)
	}
	if s.Input != "" && !json.Valid([]byte(s.Input)) {
		t.Errorf("Input %q is not JSON", s.Input)
	}
}

// TestTable checks the table against shared/dynamo.TableInput, which DynamoDB Local and the tests
// create: the same attributes, keys and indexes, and a stream with both images.
func TestTable(t *testing.T) {
	tpl := mustLoad(t)
	if len(tpl.Tables) != 1 {
		t.Fatalf("%d tables, want 1", len(tpl.Tables))
	}
	tb := tpl.Tables[0]
	in := dynamo.TableInput("x")

	var wantAttrs []samtemplate.AttributeDefinition
	for _, a := range in.AttributeDefinitions {
		wantAttrs = append(wantAttrs, samtemplate.AttributeDefinition{Name: aws.ToString(a.AttributeName), Type: string(a.AttributeType)})
	}
	sortAttrs := func(a []samtemplate.AttributeDefinition) {
		sort.Slice(a, func(i, j int) bool { return a[i].Name < a[j].Name })
	}
	gotAttrs := append([]samtemplate.AttributeDefinition(nil), tb.AttributeDefinitions...)
	sortAttrs(gotAttrs)
	sortAttrs(wantAttrs)
	if !reflect.DeepEqual(gotAttrs, wantAttrs) {
		t.Errorf("AttributeDefinitions=%+v, TableInput has %+v", gotAttrs, wantAttrs)
	}
	keys := func(ks []struct{ n, t string }) []samtemplate.KeyElement {
		var out []samtemplate.KeyElement
		for _, k := range ks {
			out = append(out, samtemplate.KeyElement{Name: k.n, KeyType: k.t})
		}
		return out
	}
	var pk []struct{ n, t string }
	for _, k := range in.KeySchema {
		pk = append(pk, struct{ n, t string }{aws.ToString(k.AttributeName), string(k.KeyType)})
	}
	if got, want := tb.KeySchema, keys(pk); !reflect.DeepEqual(got, want) {
		t.Errorf("KeySchema=%+v, TableInput has %+v", got, want)
	}
	var wantIdx []samtemplate.Index
	for _, g := range in.GlobalSecondaryIndexes {
		var ks []struct{ n, t string }
		for _, k := range g.KeySchema {
			ks = append(ks, struct{ n, t string }{aws.ToString(k.AttributeName), string(k.KeyType)})
		}
		idx := samtemplate.Index{Name: aws.ToString(g.IndexName), KeySchema: keys(ks)}
		if g.Projection != nil {
			idx.ProjectionType = string(g.Projection.ProjectionType)
		}
		wantIdx = append(wantIdx, idx)
	}
	if got := tb.GlobalSecondaryIndexes; !reflect.DeepEqual(got, wantIdx) {
		t.Errorf("GlobalSecondaryIndexes=%+v, TableInput has %+v", got, wantIdx)
	}
	if got, want := tb.BillingMode, string(in.BillingMode); got != want {
		t.Errorf("BillingMode=%q, TableInput has %q", got, want)
	}
	if got, want := tb.StreamViewType, string(in.StreamSpecification.StreamViewType); got != want {
		t.Errorf("StreamViewType=%q, TableInput has %q", got, want)
	}
	if tb.DeletionPolicy != "Retain" || tb.UpdateReplacePolicy != "Retain" {
		t.Errorf("DeletionPolicy=%q UpdateReplacePolicy=%q, want Retain for both", tb.DeletionPolicy, tb.UpdateReplacePolicy)
	}
}
