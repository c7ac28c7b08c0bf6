// Package samtemplate reads the AWS SAM template (template.yaml) into the few facts that other
// code must agree with: the functions and their folders, the HTTP API routes, the DynamoDB stream
// consumers with their filters and retry bounds, the schedules and the table's keys. The local
// server routes and triggers functions from these facts, so it cannot drift from what API Gateway,
// the event source mappings and the scheduler do in AWS.
//
// CloudFormation intrinsics, in short form (!Ref, !Sub, !GetAtt, …, any "!Name" tag) or long form
// ({"Ref": …}, {"Fn::Sub": …}), are kept as Intrinsic values; where a string is expected they are
// rendered in short form ("!Ref CadreTable", "!GetAtt CadreTable.StreamArn"). Nothing is resolved.
// Globals.Function is merged into every function as SAM does: a function's scalars override,
// maps are merged key by key, lists are concatenated.
package samtemplate

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Template is the parsed template.
type Template struct {
	Path      string
	Functions []Function // AWS::Serverless::Function resources, by logical id
	Tables    []Table    // AWS::DynamoDB::Table resources, by logical id
}

// Function is one AWS::Serverless::Function, Globals merged in.
type Function struct {
	LogicalID     string
	CodeURI       string // as written, e.g. "functions/hr-api/"
	Name          string // the last element of CodeURI, e.g. "hr-api": the folder under functions/
	FunctionName  string // the FunctionName property ("" when CloudFormation names it)
	Runtime       string
	Handler       string
	Architectures []string
	BuildMethod   string // Metadata.BuildMethod
	Timeout       int    // seconds; 0 when unset (Lambda's default is 3)
	MemorySize    int    // MB; 0 when unset (Lambda's default is 128)
	Environment   map[string]string
	// AsyncRetries is EventInvokeConfig.MaximumRetryAttempts, or Lambda's default 2 when unset;
	// AsyncOnFailure the EventInvokeConfig on-failure destination ("" when none).
	AsyncRetries   int
	AsyncOnFailure string
	Events         []Event // by event name
}

// Event is one entry of a function's Events.
type Event struct {
	Name       string
	Type       string         // HttpApi, DynamoDB, Schedule, ScheduleV2, …
	Properties map[string]any // intrinsics as Intrinsic
}

// Route is one HTTP API route: Method ("GET", …, or "ANY"), Path in API Gateway's form
// ("/v1/cadres/{cadre_id}", or "$default" for an HttpApi event without a path) and the Name of
// the function it invokes.
type Route struct {
	Method   string
	Path     string
	Function string
}

// StreamConsumer is a DynamoDB stream event source mapping (an event of Type DynamoDB).
type StreamConsumer struct {
	Function                       string // function Name
	Event                          string // event name
	Stream                         string // e.g. "!GetAtt CadreTable.StreamArn"
	Table                          string // logical id of the table whose stream it is, if known
	StartingPosition               string
	BatchSize                      int // 0 when unset (Lambda's default is 100)
	MaximumBatchingWindowInSeconds int
	ParallelizationFactor          int
	// MaximumRetryAttempts and MaximumRecordAgeInSeconds are -1 when unset: Lambda's default,
	// retry until the record expires from the stream.
	MaximumRetryAttempts       int
	MaximumRecordAgeInSeconds  int
	BisectBatchOnFunctionError bool
	FunctionResponseTypes      []string
	OnFailure                  string   // DestinationConfig.OnFailure.Destination ("" when none)
	Filters                    []string // FilterCriteria.Filters[].Pattern, raw JSON
}

// ReportsBatchItemFailures reports whether FunctionResponseTypes has ReportBatchItemFailures.
func (c StreamConsumer) ReportsBatchItemFailures() bool {
	for _, t := range c.FunctionResponseTypes {
		if t == "ReportBatchItemFailures" {
			return true
		}
	}
	return false
}

// Schedule is an event of Type Schedule (an EventBridge rule) or ScheduleV2 (EventBridge
// Scheduler).
type Schedule struct {
	Function   string // function Name
	Event      string // event name
	Type       string // "Schedule" or "ScheduleV2"
	Name       string // the Name property, rendered ("" when unset)
	Expression string // "cron(…)", "rate(…)" or "at(…)"
	Timezone   string // ScheduleExpressionTimezone (IANA); "" means UTC
	Input      string // the target's input ("" when unset)
	Enabled    bool   // false when Enabled: false or State: DISABLED
}

// Source is the "source" of the event a rule or schedule delivers: "aws.scheduler" for
// ScheduleV2, "aws.events" for Schedule.
func (s Schedule) Source() string {
	if s.Type == "ScheduleV2" {
		return "aws.scheduler"
	}
	return "aws.events"
}

// Table is an AWS::DynamoDB::Table.
type Table struct {
	LogicalID              string
	BillingMode            string
	AttributeDefinitions   []AttributeDefinition
	KeySchema              []KeyElement
	GlobalSecondaryIndexes []Index
	StreamViewType         string // "" when the table has no stream
	DeletionPolicy         string
	UpdateReplacePolicy    string
}

// AttributeDefinition is a key attribute and its type ("S", "N" or "B").
type AttributeDefinition struct{ Name, Type string }

// KeyElement is a key attribute and its role ("HASH" or "RANGE").
type KeyElement struct{ Name, KeyType string }

// Index is a global secondary index.
type Index struct {
	Name           string
	KeySchema      []KeyElement
	ProjectionType string
}

// Intrinsic is a CloudFormation intrinsic function call: Name is "Ref", "Condition" or
// "Fn::Sub", "Fn::GetAtt", …; Arg its argument (a string, []any or map[string]any).
type Intrinsic struct {
	Name string
	Arg  any
}

// String renders the call in short form: "!Ref X", "!GetAtt A.B", "!Sub text"; other
// arguments as JSON.
func (in Intrinsic) String() string {
	short := "!" + strings.TrimPrefix(in.Name, "Fn::")
	switch a := in.Arg.(type) {
	case string:
		return short + " " + a
	case []any:
		if in.Name == "Fn::GetAtt" {
			parts := make([]string, len(a))
			for i, p := range a {
				parts[i] = Str(p)
			}
			return short + " " + strings.Join(parts, ".")
		}
		if in.Name == "Fn::Sub" && len(a) > 0 {
			return short + " " + Str(a[0])
		}
	}
	b, err := json.Marshal(plain(in.Arg))
	if err != nil {
		return short + " " + fmt.Sprint(in.Arg)
	}
	return short + " " + string(b)
}

// MarshalJSON writes the long form, {"Fn::Sub": …}, as CloudFormation's JSON does.
func (in Intrinsic) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{in.Name: in.Arg})
}

// Str renders a template value as a string: scalars as written, intrinsics in short form, lists
// and maps as JSON.
func Str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case Intrinsic:
		return x.String()
	case bool, int, int64, float64:
		return fmt.Sprint(x)
	}
	b, err := json.Marshal(plain(v))
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// plain turns Intrinsics into their short-form strings, for JSON.
func plain(v any) any {
	switch x := v.(type) {
	case Intrinsic:
		return x.String()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plain(e)
		}
		return out
	}
	return v
}

// Load reads and parses the SAM template at path.
func Load(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("samtemplate: %w", err)
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("samtemplate: %s: %w", path, err)
	}
	t.Path = path
	return t, nil
}

// Parse parses a SAM template.
func Parse(b []byte) (*Template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fmt.Errorf("not a YAML document")
	}
	v, err := convert(doc.Content[0], 0)
	if err != nil {
		return nil, err
	}
	root, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the template is not a mapping")
	}
	resources, ok := root["Resources"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("no Resources")
	}
	globals := mapAt(root, "Globals", "Function")

	t := &Template{}
	for _, id := range sortedKeys(resources) {
		res, ok := resources[id].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("resource %s is not a mapping", id)
		}
		switch Str(res["Type"]) {
		case "AWS::Serverless::Function":
			f, err := parseFunction(id, res, globals)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", id, err)
			}
			t.Functions = append(t.Functions, f)
		case "AWS::DynamoDB::Table":
			t.Tables = append(t.Tables, parseTable(id, res))
		}
	}
	return t, nil
}

func parseFunction(id string, res map[string]any, globals map[string]any) (Function, error) {
	props, _ := res["Properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
	}
	if globals != nil {
		props = merge(globals, props).(map[string]any)
	}
	f := Function{
		LogicalID:      id,
		CodeURI:        Str(props["CodeUri"]),
		FunctionName:   Str(props["FunctionName"]),
		Runtime:        Str(props["Runtime"]),
		Handler:        Str(props["Handler"]),
		Architectures:  strs(props["Architectures"]),
		BuildMethod:    Str(mapAt(res, "Metadata")["BuildMethod"]),
		Timeout:        num(props["Timeout"], 0),
		MemorySize:     num(props["MemorySize"], 0),
		Environment:    map[string]string{},
		AsyncRetries:   num(mapAt(props, "EventInvokeConfig")["MaximumRetryAttempts"], 2),
		AsyncOnFailure: Str(mapAt(props, "EventInvokeConfig", "DestinationConfig", "OnFailure")["Destination"]),
	}
	if f.CodeURI == "" {
		return f, fmt.Errorf("no CodeUri")
	}
	f.Name = path.Base(strings.TrimRight(f.CodeURI, "/"))
	for k, v := range mapAt(props, "Environment", "Variables") {
		f.Environment[k] = Str(v)
	}
	events := mapAt(props, "Events")
	for _, name := range sortedKeys(events) {
		ev, ok := events[name].(map[string]any)
		if !ok {
			return f, fmt.Errorf("event %s is not a mapping", name)
		}
		p, _ := ev["Properties"].(map[string]any)
		if p == nil {
			p = map[string]any{}
		}
		f.Events = append(f.Events, Event{Name: name, Type: Str(ev["Type"]), Properties: p})
	}
	return f, nil
}

func parseTable(id string, res map[string]any) Table {
	props := mapAt(res, "Properties")
	t := Table{
		LogicalID:           id,
		BillingMode:         Str(props["BillingMode"]),
		StreamViewType:      Str(mapAt(props, "StreamSpecification")["StreamViewType"]),
		DeletionPolicy:      Str(res["DeletionPolicy"]),
		UpdateReplacePolicy: Str(res["UpdateReplacePolicy"]),
		KeySchema:           keySchema(props["KeySchema"]),
	}
	for _, a := range list(props["AttributeDefinitions"]) {
		m, _ := a.(map[string]any)
		t.AttributeDefinitions = append(t.AttributeDefinitions, AttributeDefinition{Name: Str(m["AttributeName"]), Type: Str(m["AttributeType"])})
	}
	for _, g := range list(props["GlobalSecondaryIndexes"]) {
		m, _ := g.(map[string]any)
		t.GlobalSecondaryIndexes = append(t.GlobalSecondaryIndexes, Index{
			Name:           Str(m["IndexName"]),
			KeySchema:      keySchema(m["KeySchema"]),
			ProjectionType: Str(mapAt(m, "Projection")["ProjectionType"]),
		})
	}
	return t
}

func keySchema(v any) []KeyElement {
	var out []KeyElement
	for _, k := range list(v) {
		m, _ := k.(map[string]any)
		out = append(out, KeyElement{Name: Str(m["AttributeName"]), KeyType: Str(m["KeyType"])})
	}
	return out
}

// Function returns the function with the given Name ("hr-api").
func (t *Template) Function(name string) (Function, bool) {
	for _, f := range t.Functions {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}

// Table returns the table with the given logical id.
func (t *Template) Table(logicalID string) (Table, bool) {
	for _, tb := range t.Tables {
		if tb.LogicalID == logicalID {
			return tb, true
		}
	}
	return Table{}, false
}

// Routes returns every HttpApi event as a route, sorted by path then method.
func (t *Template) Routes() []Route {
	var out []Route
	for _, f := range t.Functions {
		for _, ev := range f.Events {
			if ev.Type != "HttpApi" {
				continue
			}
			r := Route{Method: strings.ToUpper(Str(ev.Properties["Method"])), Path: Str(ev.Properties["Path"]), Function: f.Name}
			if r.Method == "" {
				r.Method = "ANY"
			}
			if r.Path == "" {
				r.Path = "$default"
			}
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

// StreamConsumers returns every DynamoDB event source, by function logical id then event name.
func (t *Template) StreamConsumers() []StreamConsumer {
	var out []StreamConsumer
	for _, f := range t.Functions {
		for _, ev := range f.Events {
			if ev.Type != "DynamoDB" {
				continue
			}
			p := ev.Properties
			c := StreamConsumer{
				Function:                       f.Name,
				Event:                          ev.Name,
				Stream:                         Str(p["Stream"]),
				StartingPosition:               Str(p["StartingPosition"]),
				BatchSize:                      num(p["BatchSize"], 0),
				MaximumBatchingWindowInSeconds: num(p["MaximumBatchingWindowInSeconds"], 0),
				ParallelizationFactor:          num(p["ParallelizationFactor"], 0),
				MaximumRetryAttempts:           num(p["MaximumRetryAttempts"], -1),
				MaximumRecordAgeInSeconds:      num(p["MaximumRecordAgeInSeconds"], -1),
				BisectBatchOnFunctionError:     boolean(p["BisectBatchOnFunctionError"], false),
				FunctionResponseTypes:          strs(p["FunctionResponseTypes"]),
				OnFailure:                      Str(mapAt(p, "DestinationConfig", "OnFailure")["Destination"]),
			}
			if in, ok := p["Stream"].(Intrinsic); ok && in.Name == "Fn::GetAtt" {
				if table, attr, ok := strings.Cut(strings.TrimPrefix(in.String(), "!GetAtt "), "."); ok && attr == "StreamArn" {
					c.Table = table
				}
			}
			for _, flt := range list(mapAt(p, "FilterCriteria")["Filters"]) {
				m, _ := flt.(map[string]any)
				c.Filters = append(c.Filters, Str(m["Pattern"]))
			}
			out = append(out, c)
		}
	}
	return out
}

// Schedules returns every Schedule and ScheduleV2 event, by function logical id then event name.
func (t *Template) Schedules() []Schedule {
	var out []Schedule
	for _, f := range t.Functions {
		for _, ev := range f.Events {
			p := ev.Properties
			s := Schedule{Function: f.Name, Event: ev.Name, Type: ev.Type, Name: Str(p["Name"]), Input: Str(p["Input"]), Enabled: true}
			switch ev.Type {
			case "Schedule":
				s.Expression = Str(p["Schedule"])
				s.Enabled = boolean(p["Enabled"], true)
			case "ScheduleV2":
				s.Expression = Str(p["ScheduleExpression"])
				s.Timezone = Str(p["ScheduleExpressionTimezone"])
			default:
				continue
			}
			if st := Str(p["State"]); strings.EqualFold(st, "DISABLED") {
				s.Enabled = false
			}
			out = append(out, s)
		}
	}
	return out
}

// ---- YAML → values

// maxDepth bounds nesting (and alias expansion) so a hostile file cannot recurse forever.
const maxDepth = 100

// shortForm maps the short-form tags whose long form is not "Fn::" + name.
var shortForm = map[string]string{"!Ref": "Ref", "!Condition": "Condition"}

// convert turns a YAML node into string/int/float64/bool/nil, []any, map[string]any and
// Intrinsic values.
func convert(n *yaml.Node, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("line %d: nested too deeply", n.Line)
	}
	if n.Kind == yaml.AliasNode {
		return convert(n.Alias, depth+1)
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		name, ok := shortForm[n.Tag]
		if !ok {
			name = "Fn::" + strings.TrimPrefix(n.Tag, "!")
		}
		// The argument is the node without its tag.
		arg := *n
		arg.Tag = ""
		arg.Style &^= yaml.TaggedStyle
		v, err := convert(&arg, depth+1)
		if err != nil {
			return nil, err
		}
		if name == "Fn::GetAtt" {
			if s, ok := v.(string); ok {
				a, b, _ := strings.Cut(s, ".")
				v = []any{a, b}
			}
		}
		return Intrinsic{Name: name, Arg: v}, nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" && k.Tag == "!!merge" {
				base, err := convert(v, depth+1)
				if err != nil {
					return nil, err
				}
				if bm, ok := base.(map[string]any); ok {
					for bk, bv := range bm {
						if _, set := m[bk]; !set {
							m[bk] = bv
						}
					}
				}
				continue
			}
			val, err := convert(v, depth+1)
			if err != nil {
				return nil, err
			}
			m[k.Value] = val
		}
		// A one-key mapping {"Ref": …} or {"Fn::…": …} is the long form of an intrinsic.
		if len(m) == 1 {
			for k, v := range m {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return Intrinsic{Name: k, Arg: v}, nil
				}
			}
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := convert(c, depth+1)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		if i, ok := v.(int); ok {
			return i, nil
		}
		return v, nil
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

// merge applies SAM's Globals rules: the function's scalars win, maps merge, lists concatenate.
func merge(global, local any) any {
	switch g := global.(type) {
	case map[string]any:
		l, ok := local.(map[string]any)
		if !ok {
			return local
		}
		out := make(map[string]any, len(g)+len(l))
		for k, v := range g {
			out[k] = v
		}
		for k, v := range l {
			if gv, ok := g[k]; ok {
				out[k] = merge(gv, v)
			} else {
				out[k] = v
			}
		}
		return out
	case []any:
		if l, ok := local.([]any); ok {
			return append(append([]any{}, g...), l...)
		}
	}
	return local
}

// ---- value helpers

func mapAt(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil
		}
		m = next
	}
	return m
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func strs(v any) []string {
	var out []string
	for _, e := range list(v) {
		out = append(out, Str(e))
	}
	return out
}

func num(v any, def int) int {
	switch x := v.(type) {
	case int:
		return x
	case float64:
		return int(x)
	case string:
		if i, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
			return i
		}
	}
	return def
}

func boolean(v any, def bool) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
			return b
		}
	}
	return def
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
