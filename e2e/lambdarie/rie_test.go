// Package lambdarie tests the deployed binaries as AWS Lambda runs them: each function's
// `bootstrap` from `sam build` (.aws-sam/build/<LogicalId>/) runs under AWS's Lambda Runtime
// Interface Emulator (aws-lambda-rie, installed by scripts/lambda-rie.sh) on loopback, with the
// environment template.yaml gives it, DynamoDB pointed at DynamoDB Local (DYNAMODB_ENDPOINT, a table
// of its own per run, deleted afterwards) and the configuration from config/demo.json. It is invoked
// with events made by `sam local generate-event` (testdata/, see testdata/generate.sh) adapted to
// each request, and with stream batches read from DynamoDB Local's own stream of the table.
//
// The tests assert on behaviour only (status codes, JSON fields, stored state), so they hold
// whatever the handlers look like inside. A bootstrap built for another CPU (arm64 on an x86-64
// host) runs through qemu-user (qemu-aarch64-static), which scripts/lambda-rie.sh installs.
//
// Skipped when the bootstraps, RIE or DynamoDB Local are absent, unless CADRE_REQUIRE_RIE=1
// (make test), which makes that a failure.
package lambdarie

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"debug/buildinfo"
	"debug/elf"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"gopkg.in/yaml.v3"

	"github.com/cadre-training/cadretrain/shared/dynamo"
	"github.com/cadre-training/cadretrain/shared/dynamo/streamfeed"
	"github.com/cadre-training/cadretrain/shared/training"
)

const (
	repoRoot = "../.."
	// The demo configuration (config/demo.json).
	platform = "elearn-demo"
	secret   = "whsec_ZGVtby1wbGF0Zm9ybS1zZWNyZXQtMDAwMS1yb3RhdGU="
	keyCQ    = "demo-hr-key-cq-not-for-production"
	unitCQ   = "cn/cq/yuzhong/xinfang"
	region   = "cn-north-1"
	// What the test waits for at most (never a pass/fail on time): RIE to listen, one invocation.
	startWait  = 60 * time.Second
	invokeWait = 5 * time.Minute
)

// The functions of template.yaml, by logical id.
const (
	hrAPI       = "HrApiFunction"
	selfStudy   = "RecordSelfStudyFunction"
	ingest      = "IngestCompletionsFunction"
	formEntries = "WriteFormEntriesFunction"
	recompute   = "RecomputeQuotaFunction"
	renderXLSX  = "RenderXlsxFunction"
	notices     = "DeliverNoticesFunction"
	keyAdmin    = "demo-admin-key-not-for-production"
)

// renderXLSX starts before hrAPI, which invokes it for its xlsx exports.
var functions = []string{renderXLSX, hrAPI, selfStudy, ingest, formEntries, recompute, notices}

// buildDir is where `sam build` put the functions: .aws-sam/build, or CADRE_RIE_BUILD_DIR (with the
// same <LogicalId>/bootstrap layout), e.g. to time a build for this machine's CPU against qemu.
func buildDir() string {
	if d := os.Getenv("CADRE_RIE_BUILD_DIR"); d != "" {
		return d
	}
	return filepath.Join(repoRoot, ".aws-sam", "build")
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// absent skips the test, or fails it under CADRE_REQUIRE_RIE=1.
func absent(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CADRE_REQUIRE_RIE") == "1" {
		t.Fatalf("CADRE_REQUIRE_RIE=1 but %s", msg)
	}
	t.Skip(msg + " (make test builds, installs and starts everything)")
}

// ---- template.yaml

type tmplFunction struct {
	env    map[string]string
	memory int
	routes []route // HttpApi events; Default (no path) is "$default"
}

type route struct{ method, path string }

// readTemplate reads what the tests need of template.yaml: each function's environment (Globals
// merged with its own, !Ref resolved: the table to table, a parameter to its default), timeout,
// memory size and HttpApi routes; and the daily schedule's Input.
func readTemplate(t *testing.T, table string) (map[string]tmplFunction, map[string]any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	params := map[string]string{}
	for name, p := range mapping(child(root, "Parameters")) {
		if d := child(p, "Default"); d != nil {
			params[name] = d.Value
		}
	}
	scalar := func(n *yaml.Node) string {
		switch n.Tag {
		case "!Ref":
			if n.Value == "CadreTable" {
				return table
			}
			if v, ok := params[n.Value]; ok {
				return v
			}
			if child(child(root, "Resources"), n.Value) != nil {
				// Another resource (e.g. the notice queue's URL): a closed loopback port, so a
				// function that used it would fail here rather than reach anything.
				return "http://127.0.0.1:1/" + n.Value
			}
		case "!!str", "!!int", "!!bool", "!!float":
			return n.Value
		}
		t.Fatalf("template.yaml: an environment value this test cannot resolve: %s %q (line %d)", n.Tag, n.Value, n.Line)
		return ""
	}
	atoi := func(n *yaml.Node, def int) int {
		if n == nil {
			return def
		}
		v, err := strconv.Atoi(n.Value)
		if err != nil {
			t.Fatalf("template.yaml line %d: %v", n.Line, err)
		}
		return v
	}
	globals := child(child(root, "Globals"), "Function")
	genv := map[string]string{}
	for k, v := range mapping(child(child(globals, "Environment"), "Variables")) {
		genv[k] = scalar(v)
	}
	fns := map[string]tmplFunction{}
	var schedule map[string]any
	for id, res := range mapping(child(root, "Resources")) {
		if v := child(res, "Type"); v == nil || v.Value != "AWS::Serverless::Function" {
			continue
		}
		props := child(res, "Properties")
		f := tmplFunction{
			env:    map[string]string{},
			memory: atoi(child(props, "MemorySize"), atoi(child(globals, "MemorySize"), 128)),
		}
		for k, v := range genv {
			f.env[k] = v
		}
		for k, v := range mapping(child(child(props, "Environment"), "Variables")) {
			f.env[k] = scalar(v)
		}
		for _, ev := range mapping(child(props, "Events")) {
			p := child(ev, "Properties")
			switch child(ev, "Type").Value {
			case "HttpApi":
				if m, pa := child(p, "Method"), child(p, "Path"); m != nil && pa != nil {
					f.routes = append(f.routes, route{strings.ToUpper(m.Value), pa.Value})
				} else {
					f.routes = append(f.routes, route{"", "$default"})
				}
			case "ScheduleV2", "Schedule":
				if in := child(p, "Input"); in != nil {
					if err := json.Unmarshal([]byte(in.Value), &schedule); err != nil {
						t.Fatalf("template.yaml: %s schedule Input: %v", id, err)
					}
				}
			}
		}
		fns[id] = f
	}
	return fns, schedule
}

func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func mapping(n *yaml.Node) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n == nil || n.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		out[n.Content[i].Value] = n.Content[i+1]
	}
	return out
}

// match finds the route of f that serves method and path, with its path parameters; "$default"
// when only a Default event takes it.
func (f tmplFunction) match(method, path string) (string, map[string]string, bool) {
	def := false
	for _, r := range f.routes {
		if r.path == "$default" {
			def = true
			continue
		}
		if r.method != method && r.method != "ANY" {
			continue
		}
		ps, ok := matchPath(r.path, path)
		if ok {
			return r.method + " " + r.path, ps, true
		}
	}
	if def {
		return "$default", nil, true
	}
	return "", nil, false
}

func matchPath(pattern, path string) (map[string]string, bool) {
	ps := map[string]string{}
	pp, xs := strings.Split(strings.Trim(pattern, "/"), "/"), strings.Split(strings.Trim(path, "/"), "/")
	for i, p := range pp {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}") {
			if i >= len(xs) {
				return nil, false
			}
			ps[strings.TrimSuffix(p[1:], "+}")] = strings.Join(xs[i:], "/")
			return ps, true
		}
		if i >= len(xs) {
			return nil, false
		}
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			v, err := url.PathUnescape(xs[i])
			if err != nil || v == "" {
				return nil, false
			}
			ps[p[1:len(p)-1]] = v
		} else if p != xs[i] {
			return nil, false
		}
	}
	return ps, len(pp) == len(xs)
}

// ---- the emulator

// function is one bootstrap running under aws-lambda-rie.
type function struct {
	id     string
	tmpl   tmplFunction
	url    string // the invoke URL
	out    *syncBuffer
	cmd    *exec.Cmd
	first  time.Duration // time to the first response, init included
	invoke int
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// command returns how to run bootstrap on this machine: directly, or through qemu-user when it is
// built for another CPU (a wrapper script, since RIE takes the last of several arguments as the
// handler name).
func command(t *testing.T, bootstrap string) (string, string) {
	t.Helper()
	f, err := elf.Open(bootstrap)
	if err != nil {
		t.Fatalf("%s: %v", bootstrap, err)
	}
	defer f.Close()
	arch := map[elf.Machine]string{elf.EM_AARCH64: "arm64", elf.EM_X86_64: "amd64"}[f.Machine]
	if arch == runtime.GOARCH {
		return bootstrap, arch
	}
	qemu := map[string]string{"arm64": "aarch64", "amd64": "x86_64"}[arch]
	var path string
	for _, name := range []string{"qemu-" + qemu + "-static", "qemu-" + qemu} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		absent(t, "%s is built for %s (%s) and no qemu-%s is installed (scripts/lambda-rie.sh install)", bootstrap, arch, f.Machine, qemu)
	}
	wrapper := filepath.Join(t.TempDir(), "bootstrap")
	script := fmt.Sprintf("#!/bin/sh\nexec %q %q \"$@\"\n", path, bootstrap)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return wrapper, arch + " under " + filepath.Base(path)
}

// start runs the function's bootstrap under RIE on free loopback ports with the template's
// environment, DynamoDB at DynamoDB Local and the configuration file; stopped at cleanup.
func start(t *testing.T, rie, id string, tmpl tmplFunction, ddb string, extra map[string]string) *function {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join(buildDir(), id))
	if err != nil {
		t.Fatal(err)
	}
	bootstrap := filepath.Join(dir, "bootstrap")
	cfg, err := filepath.Abs(filepath.Join(repoRoot, "config", "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	exe, how := command(t, bootstrap)
	t.Logf("%s: %s", id, how)
	env := map[string]string{}
	for k, v := range tmpl.env {
		env[k] = v
	}
	// The configuration from the file rather than Secrets Manager (shared/awsboot reads the
	// secret when CADRE_CONFIG_SECRET is set).
	delete(env, "CADRE_CONFIG_SECRET")
	for k, v := range map[string]string{
		"PATH":                              "/usr/bin:/bin",
		"CADRE_CONFIG":                      cfg,
		"AWS_REGION":                        region,
		"AWS_DEFAULT_REGION":                region,
		"AWS_ACCESS_KEY_ID":                 "local",
		"AWS_SECRET_ACCESS_KEY":             "local",
		"AWS_SESSION_TOKEN":                 "local",
		"AWS_EC2_METADATA_DISABLED":         "true",
		"AWS_ENDPOINT_URL_DYNAMODB":         ddb,
		"AWS_ENDPOINT_URL_DYNAMODB_STREAMS": ddb,
		// Every other AWS service at a closed loopback port: nothing leaves the machine.
		"AWS_ENDPOINT_URL":         "http://127.0.0.1:9",
		"AWS_LAMBDA_FUNCTION_NAME": id,
		// There is no Lambda API here for recompute-quota's asynchronous self-invocations: its
		// jobs (the schedule, {"all": true}) run inline to their end (shared/awsboot).
		"CADRE_ASYNC_JOBS":                "inline",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(tmpl.memory),
		// The template's Timeout is AWS's limit; here the binary may run emulated on a shared
		// machine, so RIE's own default (300 s) applies.
		"AWS_LAMBDA_FUNCTION_TIMEOUT": "300",
		"AWS_LAMBDA_LOG_FORMAT":       "JSON",
		"LAMBDA_TASK_ROOT":            dir,
		"_HANDLER":                    "bootstrap",
		"TZ":                          ":UTC",
	} {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	for attempt := 1; ; attempt++ {
		apiPort, port := freePort(t), freePort(t)
		out := &syncBuffer{}
		cmd := exec.Command(rie,
			"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", apiPort),
			"--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", port),
			exe)
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, environ, out, out
		// Its own process group: RIE starts the bootstrap (and qemu) as children; all go at cleanup.
		// Should the test binary die first (a -timeout panic runs no cleanup), the kernel kills RIE,
		// and a bootstrap whose Runtime API is gone exits by itself.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", rie, err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-exited
			}
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		deadline := time.Now().Add(startWait)
		up := false
		for !up && time.Now().Before(deadline) {
			select {
			case <-exited:
				deadline = time.Time{}
				continue
			default:
			}
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				up = true
			} else {
				time.Sleep(50 * time.Millisecond)
			}
		}
		if up {
			t.Cleanup(func() {
				stop()
				if t.Failed() || testing.Verbose() {
					t.Logf("%s output:\n%s", id, out.String())
				}
			})
			return &function{id: id, tmpl: tmpl, url: "http://" + addr + "/2015-03-31/functions/function/invocations", out: out, cmd: cmd}
		}
		stop()
		if attempt == 3 {
			t.Fatalf("%s: aws-lambda-rie did not listen on %s:\n%s", id, addr, out.String())
		}
		t.Logf("%s: aws-lambda-rie did not start (port taken?), again: %s", id, out.String())
	}
}

// call invokes the function with event and returns its raw result; a function error fails the test.
func (f *function) call(t *testing.T, event any) []byte {
	t.Helper()
	b, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), invokeWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: invoke: %v", f.id, err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	if _, err := out.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	if f.invoke == 0 {
		f.first = time.Since(began)
	}
	f.invoke++
	var fnErr struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	_ = json.Unmarshal(out.Bytes(), &fnErr)
	if resp.StatusCode != http.StatusOK || fnErr.ErrorType != "" {
		t.Fatalf("%s: invocation failed: HTTP %d %s\n%s", f.id, resp.StatusCode, out.Bytes(), f.out.String())
	}
	return out.Bytes()
}

var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// initDuration is the init duration RIE logged for the cold start ("INIT REPORT(durationMs: …)",
// from the bootstrap's start to its first request for an event); the REPORT line's "Init Duration"
// of this RIE measures only the call that starts the init, so it is not used.
func (f *function) initDuration() (time.Duration, bool) {
	m := initReport.FindStringSubmatch(f.out.String())
	if m == nil {
		return 0, false
	}
	ms, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}

// ---- events

func loadEvent(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("testdata/%s: %v", name, err)
	}
	return m
}

type httpResponse struct {
	status int
	header map[string]string
	body   []byte
}

func (r httpResponse) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

func wantStatus(t *testing.T, r httpResponse, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
}

// http invokes the function with an API Gateway HTTP API (payload 2.0) event for the request, made
// from the generated one as API Gateway would fill it for the template's route.
func (f *function) http(t *testing.T, method, target string, header map[string]string, body []byte) httpResponse {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	routeKey, params, ok := f.tmpl.match(method, u.Path)
	if !ok {
		t.Fatalf("%s has no route for %s %s in template.yaml", f.id, method, u.Path)
	}
	ev := loadEvent(t, "http-api-proxy.json")
	now := time.Now()
	headers := map[string]any{
		"host":              "api.example.com",
		"user-agent":        "cadretrain-lambdarie-test",
		"x-forwarded-for":   "127.0.0.1",
		"x-forwarded-port":  "443",
		"x-forwarded-proto": "https",
	}
	if body != nil {
		headers["content-length"] = strconv.Itoa(len(body))
		headers["content-type"] = "application/json"
	}
	for k, v := range header {
		headers[strings.ToLower(k)] = v // HTTP APIs deliver header names in lower case
	}
	ev["routeKey"] = routeKey
	ev["rawPath"] = u.Path
	ev["rawQueryString"] = u.RawQuery
	ev["headers"] = headers
	delete(ev, "cookies")
	delete(ev, "stageVariables")
	if q := u.Query(); len(q) > 0 {
		qs := map[string]any{}
		for k, vs := range q {
			qs[k] = strings.Join(vs, ",")
		}
		ev["queryStringParameters"] = qs
	} else {
		delete(ev, "queryStringParameters")
	}
	if len(params) > 0 {
		ev["pathParameters"] = params
	} else {
		delete(ev, "pathParameters")
	}
	if body != nil {
		ev["body"] = string(body)
	} else {
		delete(ev, "body")
	}
	ev["isBase64Encoded"] = false
	rc := ev["requestContext"].(map[string]any)
	delete(rc, "authentication") // no mutual TLS
	delete(rc, "authorizer")     // no API Gateway authorizer: the functions authenticate
	rc["routeKey"] = routeKey
	rc["requestId"] = randHex(8)
	rc["time"] = now.UTC().Format("02/Jan/2006:15:04:05 -0700")
	rc["timeEpoch"] = now.UnixMilli()
	hc := rc["http"].(map[string]any)
	hc["method"], hc["path"], hc["sourceIp"], hc["userAgent"] = method, u.Path, "127.0.0.1", headers["user-agent"]

	var resp struct {
		StatusCode      int               `json:"statusCode"`
		Headers         map[string]string `json:"headers"`
		Body            string            `json:"body"`
		IsBase64Encoded bool              `json:"isBase64Encoded"`
	}
	raw := f.call(t, ev)
	if err := json.Unmarshal(raw, &resp); err != nil || resp.StatusCode == 0 {
		t.Fatalf("%s: not an HTTP API response: %s (%v)", f.id, raw, err)
	}
	out := httpResponse{status: resp.StatusCode, header: map[string]string{}, body: []byte(resp.Body)}
	for k, v := range resp.Headers {
		out.header[strings.ToLower(k)] = v
	}
	if resp.IsBase64Encoded {
		if out.body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func jsonBody(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// streamRecord is one record of the table's stream in the Lambda event format.
type streamRecord = map[string]any

// readStream reads every record of the table's stream from DynamoDB Local and returns them in
// the format a Lambda event source mapping delivers (the generated record's envelope, with
// eventID, eventName, Keys, images, SequenceNumber and size from the stream).
func readStream(t *testing.T, db *dynamodb.Client, st *dynamodbstreams.Client, table string) []streamRecord {
	t.Helper()
	ctx := context.Background()
	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(desc.Table.LatestStreamArn)
	envelope := loadEvent(t, "dynamodb-update.json")["Records"].([]any)[0].(map[string]any)
	var out []streamRecord
	var shards []streamtypes.Shard
	var last *string
	for {
		ds, err := st.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn), ExclusiveStartShardId: last})
		if err != nil {
			t.Fatal(err)
		}
		shards = append(shards, ds.StreamDescription.Shards...)
		if last = ds.StreamDescription.LastEvaluatedShardId; last == nil {
			break
		}
	}
	for _, sh := range shards {
		it, err := st.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
			StreamArn: aws.String(arn), ShardId: sh.ShardId, ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			t.Fatal(err)
		}
		iter := it.ShardIterator
		for iter != nil {
			got, err := st.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range got.Records {
				rec := map[string]any{}
				for k, v := range envelope {
					rec[k] = v
				}
				rec["eventID"] = aws.ToString(r.EventID)
				rec["eventName"] = string(r.EventName)
				rec["eventSourceARN"] = arn
				rec["awsRegion"] = region
				d := map[string]any{
					"Keys":                        attrs(r.Dynamodb.Keys),
					"SequenceNumber":              aws.ToString(r.Dynamodb.SequenceNumber),
					"SizeBytes":                   aws.ToInt64(r.Dynamodb.SizeBytes),
					"StreamViewType":              string(r.Dynamodb.StreamViewType),
					"ApproximateCreationDateTime": aws.ToTime(r.Dynamodb.ApproximateCreationDateTime).Unix(),
				}
				if r.Dynamodb.NewImage != nil {
					d["NewImage"] = attrs(r.Dynamodb.NewImage)
				}
				if r.Dynamodb.OldImage != nil {
					d["OldImage"] = attrs(r.Dynamodb.OldImage)
				}
				rec["dynamodb"] = d
				out = append(out, rec)
			}
			// A shard of DynamoDB Local stays open: an empty page means "caught up".
			if len(got.Records) == 0 {
				break
			}
			iter = got.NextShardIterator
		}
	}
	return out
}

func attrs(m map[string]streamtypes.AttributeValue) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = attr(v)
	}
	return out
}

// attr is an attribute value in the JSON of stream events: {"S": …}, {"N": "…"}, {"M": {…}}, ….
func attr(v streamtypes.AttributeValue) map[string]any {
	switch v := v.(type) {
	case *streamtypes.AttributeValueMemberS:
		return map[string]any{"S": v.Value}
	case *streamtypes.AttributeValueMemberN:
		return map[string]any{"N": v.Value}
	case *streamtypes.AttributeValueMemberB:
		return map[string]any{"B": v.Value} // []byte marshals as base64, as in events
	case *streamtypes.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}
	case *streamtypes.AttributeValueMemberNULL:
		return map[string]any{"NULL": v.Value}
	case *streamtypes.AttributeValueMemberM:
		return map[string]any{"M": attrs(v.Value)}
	case *streamtypes.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, x := range v.Value {
			l[i] = attr(x)
		}
		return map[string]any{"L": l}
	case *streamtypes.AttributeValueMemberSS:
		return map[string]any{"SS": v.Value}
	case *streamtypes.AttributeValueMemberNS:
		return map[string]any{"NS": v.Value}
	case *streamtypes.AttributeValueMemberBS:
		return map[string]any{"BS": v.Value}
	}
	panic(fmt.Sprintf("attribute value %T", v))
}

func keyS(rec streamRecord, name string) string {
	keys, _ := rec["dynamodb"].(map[string]any)["Keys"].(map[string]any)
	v, _ := keys[name].(map[string]any)
	s, _ := v["S"].(string)
	return s
}

func newImage(rec streamRecord) map[string]any {
	img, _ := rec["dynamodb"].(map[string]any)["NewImage"].(map[string]any)
	return img
}

func seq(rec streamRecord) string { return rec["dynamodb"].(map[string]any)["SequenceNumber"].(string) }

// passes applies the FilterCriteria of the function's DynamoDB event in template.yaml: record items
// (pk CADRE#…, sk REC#…) for recompute-quota; of those, INSERT and MODIFY whose new image is
// full-time for write-form-entries.
func passes(fn string, rec streamRecord) bool {
	if !strings.HasPrefix(keyS(rec, "pk"), "CADRE#") || !strings.HasPrefix(keyS(rec, "sk"), "REC#") {
		return false
	}
	if fn == recompute {
		return true
	}
	ft, _ := newImage(rec)["full_time"].(map[string]any)
	name := rec["eventName"]
	return (name == "INSERT" || name == "MODIFY") && ft["BOOL"] == true
}

// poisonAfter is a copy of rec whose new image cannot be decoded (every attribute but the keys,
// type, kind and full_time, which the event filters and a decoder's first look may need, of the
// wrong type), with the next sequence number after last.
func poisonAfter(t *testing.T, rec streamRecord, last string) streamRecord {
	t.Helper()
	b, _ := json.Marshal(rec)
	var p streamRecord
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	n, ok := new(big.Int).SetString(last, 10)
	if !ok {
		t.Fatalf("sequence number %q is not a decimal", last)
	}
	d := p["dynamodb"].(map[string]any)
	d["SequenceNumber"] = n.Add(n, big.NewInt(1)).String()
	p["eventID"] = randHex(16)
	img := d["NewImage"].(map[string]any)
	for k := range img {
		switch k {
		case "pk", "sk", "type", "kind", "full_time":
		case "hours", "days", "version":
			img[k] = map[string]any{"S": "not a number"}
		default:
			img[k] = map[string]any{"N": "12345"}
		}
	}
	return p
}

type batchResponse struct {
	BatchItemFailures []struct {
		ItemIdentifier string `json:"itemIdentifier"`
	} `json:"batchItemFailures"`
}

func (f *function) stream(t *testing.T, recs []streamRecord) []string {
	t.Helper()
	var resp batchResponse
	raw := f.call(t, map[string]any{"Records": recs})
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatalf("%s: not a batch response: %s", f.id, raw)
	}
	ids := []string{}
	for _, x := range resp.BatchItemFailures {
		ids = append(ids, x.ItemIdentifier)
	}
	return ids
}

// ---- the test

func TestFunctionsUnderRIE(t *testing.T) {
	rie := os.Getenv("AWS_LAMBDA_RIE")
	if rie == "" {
		rie = filepath.Join(repoRoot, ".cache", "bin", "aws-lambda-rie")
	}
	rie, err := filepath.Abs(rie)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(rie); err != nil {
		absent(t, "aws-lambda-rie is not installed at %s (scripts/lambda-rie.sh install)", rie)
	}
	for _, id := range functions {
		if _, err := os.Stat(filepath.Join(buildDir(), id, "bootstrap")); err != nil {
			absent(t, "no bootstrap for %s (scripts/sam.sh build)", id)
		}
	}
	endpoint := os.Getenv("DYNAMODB_ENDPOINT")
	if endpoint == "" {
		absent(t, "DYNAMODB_ENDPOINT is not set (scripts/dynamodb-local.sh run -- go test ./e2e/lambdarie)")
	}
	if u, err := url.Parse(endpoint); err != nil || u.Hostname() != "127.0.0.1" {
		t.Fatalf("DYNAMODB_ENDPOINT %q: this test talks to 127.0.0.1 only", endpoint)
	}

	// The table, created by the project's own code, one per run.
	awsCfg := aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
	streams := dynamodbstreams.NewFromConfig(awsCfg, func(o *dynamodbstreams.Options) { o.BaseEndpoint = aws.String(endpoint) })
	table := "rie-" + randHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := dynamo.EnsureTable(ctx, db, table); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dynamo.DeleteTable(context.Background(), db, table); err != nil {
			t.Errorf("delete table %s: %v", table, err)
		}
	})
	store := streamfeed.NewStore(db, streams, table)

	tmpl, schedule := readTemplate(t, table)
	fn := map[string]*function{}
	for _, id := range functions {
		f, ok := tmpl[id]
		if !ok {
			t.Fatalf("template.yaml has no function %s", id)
		}
		var extra map[string]string
		if id == hrAPI {
			// hr-api invokes render-xlsx through the Lambda Invoke API; this emulator serves it at
			// /2015-03-31/functions/function/invocations.
			extra = map[string]string{
				"XLSX_FUNCTION_NAME":      "function",
				"AWS_ENDPOINT_URL_LAMBDA": strings.TrimSuffix(fn[renderXLSX].url, "/2015-03-31/functions/function/invocations"),
			}
		}
		fn[id] = start(t, rie, id, f, endpoint, extra)
	}
	run := randHex(4)
	cadre := run + "-rie"     // gets a self-study record and a full-time centralized training
	idle := run + "-rie-idle" // only a profile: its snapshot comes from the schedule

	t.Run("HRAPIProfile", func(t *testing.T) {
		hr := fn[hrAPI]
		put := func() httpResponse {
			return hr.http(t, "PUT", "/v1/cadres/"+cadre, map[string]string{"Authorization": "Bearer " + keyCQ}, jsonBody(t, map[string]any{
				"name": "张三", "unit": unitCQ, "rank": "四级调研员", "rank_effective_on": "2023-01-01",
				"leadership_member": false, "joined_on": "2019-07-01",
			}))
		}
		r := put()
		wantStatus(t, r, http.StatusCreated)
		if !strings.HasPrefix(r.header["content-type"], "application/json") {
			t.Errorf("Content-Type %q", r.header["content-type"])
		}
		wantStatus(t, put(), http.StatusOK)
		r = hr.http(t, "GET", "/v1/cadres/"+cadre, map[string]string{"Authorization": "Bearer " + keyCQ}, nil)
		wantStatus(t, r, http.StatusOK)
		if p := r.json(t); p["cadre_id"] != cadre || p["name"] != "张三" || p["unit"] != unitCQ {
			t.Errorf("GET profile %s", r.body)
		}
		// Without a key: 401 problem.
		r = hr.http(t, "GET", "/v1/cadres/"+cadre, nil, nil)
		wantStatus(t, r, http.StatusUnauthorized)
		if !strings.HasPrefix(r.header["content-type"], "application/problem+json") {
			t.Errorf("401 Content-Type %q", r.header["content-type"])
		}
		wantStatus(t, hr.http(t, "PUT", "/v1/cadres/"+idle, map[string]string{"Authorization": "Bearer " + keyCQ}, jsonBody(t, map[string]any{
			"name": "李四", "unit": unitCQ, "rank": "一级主任科员", "rank_effective_on": "2023-01-01",
			"leadership_member": false, "joined_on": "2019-07-01",
		})), http.StatusCreated)
	})
	if t.Failed() {
		return
	}

	t.Run("SelfStudyIdempotent", func(t *testing.T) {
		post := func() httpResponse {
			return fn[selfStudy].http(t, "POST", "/v1/cadres/"+cadre+"/self-study", map[string]string{
				"Authorization": "Bearer " + keyCQ, "Idempotency-Key": run + "-study-1",
			}, jsonBody(t, map[string]any{"hours": 12.5, "studied_on": "2025-03-10"}))
		}
		r := post()
		wantStatus(t, r, http.StatusCreated)
		first := r.json(t)
		if first["record_id"] == nil || first["record_id"] == "" {
			t.Errorf("no record_id: %s", r.body)
		}
		r = post()
		wantStatus(t, r, http.StatusOK)
		if again := r.json(t); again["record_id"] != first["record_id"] {
			t.Errorf("replay record_id %v, want %v", again["record_id"], first["record_id"])
		}
	})

	// A full-time centralized training of 2 months (61 days): both forms (docs/rules.md §4).
	t.Run("SignedWebhook", func(t *testing.T) {
		body := jsonBody(t, map[string]any{
			"event_id": run + "-long", "cadre_id": cadre, "kind": "centralized", "full_time": true,
			"course_id": "cls-" + run, "course_title": "中青年干部培训班", "institution": "中央党校（国家行政学院）",
			"institution_type": "party_school", "start_date": "2024-03-01", "end_date": "2024-04-30", "days": 61, "hours": 320,
			"assessment": "passed", "completed_at": "2024-04-30T17:00:00+08:00",
		})
		msgID := "msg_" + randHex(8)
		now := time.Now()
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := wh.Sign(msgID, now, body)
		if err != nil {
			t.Fatal(err)
		}
		h := map[string]string{"webhook-id": msgID, "webhook-timestamp": strconv.FormatInt(now.Unix(), 10), "webhook-signature": sig}
		r := fn[ingest].http(t, "POST", "/v1/webhooks/completions/"+platform, h, body)
		wantStatus(t, r, http.StatusOK)
		var out struct {
			Results []map[string]any `json:"results"`
		}
		if err := json.Unmarshal(r.body, &out); err != nil || len(out.Results) != 1 || out.Results[0]["status"] != "created" {
			t.Fatalf("webhook results %s", r.body)
		}
		// Signed with a secret the platform does not have: refused.
		other, err := standardwebhooks.NewWebhook("whsec_" + base64.StdEncoding.EncodeToString([]byte("not-the-platform-secret-000000")))
		if err != nil {
			t.Fatal(err)
		}
		if h["webhook-signature"], err = other.Sign(msgID, now, body); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, fn[ingest].http(t, "POST", "/v1/webhooks/completions/"+platform, h, body), http.StatusUnauthorized)
	})
	if t.Failed() {
		return
	}

	all := readStream(t, db, streams, table)
	batch := map[string][]streamRecord{}
	for _, id := range []string{formEntries, recompute} {
		for _, rec := range all {
			if passes(id, rec) {
				batch[id] = append(batch[id], rec)
			}
		}
	}
	// recompute-quota sees both records; write-form-entries only the full-time one.
	if len(batch[recompute]) != 2 || len(batch[formEntries]) != 1 {
		t.Fatalf("stream: %d records for recompute-quota, %d for write-form-entries, want 2 and 1 (of %d)",
			len(batch[recompute]), len(batch[formEntries]), len(all))
	}
	lastSeq := seq(all[len(all)-1])

	// A batch holding one poison record: exactly its SequenceNumber is reported (the
	// ReportBatchItemFailures contract), nothing else.
	t.Run("PoisonRecord", func(t *testing.T) {
		for _, id := range []string{formEntries, recompute} {
			p := poisonAfter(t, batch[id][0], lastSeq)
			got := fn[id].stream(t, append(append([]streamRecord{}, batch[id]...), p))
			if len(got) != 1 || got[0] != seq(p) {
				t.Errorf("%s: batchItemFailures %v, want exactly [%s]", id, got, seq(p))
			}
			// Poison first: reported, the valid records after it are not.
			got = fn[id].stream(t, append([]streamRecord{p}, batch[id]...))
			if len(got) != 1 || got[0] != seq(p) {
				t.Errorf("%s (poison first): batchItemFailures %v, want exactly [%s]", id, got, seq(p))
			}
		}
	})

	t.Run("FormEntries", func(t *testing.T) {
		if got := fn[formEntries].stream(t, batch[formEntries]); len(got) != 0 {
			t.Fatalf("batchItemFailures %v for valid records", got)
		}
		r := fn[hrAPI].http(t, "GET", "/v1/cadres/"+cadre+"/appointment-records", map[string]string{"Authorization": "Bearer " + keyCQ}, nil)
		wantStatus(t, r, http.StatusOK)
		var out struct {
			Entries []map[string]any `json:"entries"`
		}
		if err := json.Unmarshal(r.body, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Entries) != 1 || out.Entries[0]["status"] != "active" || out.Entries[0]["start_date"] != "2024-03-01" ||
			out.Entries[0]["months"] != float64(2) {
			t.Errorf("appointment entries %s", r.body)
		}
	})

	// An xlsx export: hr-api has render-xlsx render it (docs/api.md “Exports”).
	t.Run("XLSXExport", func(t *testing.T) {
		r := fn[hrAPI].http(t, "GET", "/v1/cadres/"+cadre+"/appointment-records?format=xlsx", map[string]string{"Authorization": "Bearer " + keyCQ}, nil)
		wantStatus(t, r, http.StatusOK)
		if r.header["content-type"] != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
			t.Errorf("Content-Type %q", r.header["content-type"])
		}
		zr, err := zip.NewReader(bytes.NewReader(r.body), int64(len(r.body)))
		if err != nil {
			t.Fatalf("not an xlsx (zip) file: %v", err)
		}
		var text []byte
		for _, f := range zr.File {
			if f.Name == "xl/sharedStrings.xml" || strings.HasPrefix(f.Name, "xl/worksheets/") {
				rc, err := f.Open()
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(rc)
				rc.Close()
				text = append(text, b...)
			}
		}
		// The title names the cadre; the entry's start date is a row.
		for _, want := range []string{"干部任免审批表", "张三", "2024-03-01"} {
			if !bytes.Contains(text, []byte(want)) {
				t.Errorf("the workbook lacks %q", want)
			}
		}
	})

	t.Run("RecomputeStream", func(t *testing.T) {
		if got := fn[recompute].stream(t, batch[recompute]); len(got) != 0 {
			t.Fatalf("batchItemFailures %v for valid records", got)
		}
		st, err := store.GetSnapshot(context.Background(), cadre)
		if err != nil {
			t.Fatalf("snapshot after the stream batch: %v", err)
		}
		if st.CadreID != cadre || st.ComputedAt.IsZero() || len(st.Requirements) == 0 {
			t.Errorf("snapshot %+v", st)
		}
	})

	// The schedule recomputes everyone: the idle cadre's self-study record, whose change no stream
	// batch delivers here, is in its snapshot afterwards (docs/rules.md §2, the annual online hours).
	t.Run("RecomputeSchedule", func(t *testing.T) {
		today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
		wantStatus(t, fn[selfStudy].http(t, "POST", "/v1/cadres/"+idle+"/self-study", map[string]string{
			"Authorization": "Bearer " + keyCQ, "Idempotency-Key": run + "-idle-study",
		}, jsonBody(t, map[string]any{"hours": 7, "studied_on": today})), http.StatusCreated)
		// The generated EventBridge event, carrying what the template's schedule sends (its Input).
		ev := loadEvent(t, "scheduled-event.json")
		for k, v := range schedule {
			ev[k] = v
		}
		ev["time"] = time.Now().UTC().Format(time.RFC3339)
		fn[recompute].call(t, ev)
		st, err := store.GetSnapshot(context.Background(), idle)
		if err != nil {
			t.Fatalf("snapshot of %s after the schedule: %v", idle, err)
		}
		online := false
		for _, r := range st.Requirements {
			if r.ID == "online_annual" {
				online = true
				if h := r.Achieved.Hours; h == nil || *h != training.HoursOf(7) {
					t.Errorf("online hours in the snapshot after the schedule: %v, want 7", h)
				}
			}
		}
		if st.CadreID != idle || !online {
			t.Errorf("snapshot %+v, want one with online_annual", st)
		}
	})

	// A 调训 notice through the outbox: filing a class (hr-api) writes the outbox entry; its stream
	// record, as the Pipe forwards it into the notice queue, reaches deliver-notices in an SQS
	// batch; the subscriber gets one Standard Webhooks signed POST (docs/api.md “Notices”).
	t.Run("DeliverNotices", func(t *testing.T) {
		type got struct {
			header http.Header
			body   []byte
		}
		posts := make(chan got, 8)
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			posts <- got{r.Header.Clone(), b}
		}))
		defer recv.Close()
		admin := map[string]string{"Authorization": "Bearer " + keyAdmin}
		hr := map[string]string{"Authorization": "Bearer " + keyCQ}
		sub := "sub-" + run
		r := fn[hrAPI].http(t, "PUT", "/v1/subscriptions/"+sub, admin, jsonBody(t, map[string]any{
			"url": recv.URL + "/hook", "events": []string{"class.call_notice"}, "unit": unitCQ, "description": "rie",
		}))
		wantStatus(t, r, http.StatusCreated)
		secret, _ := r.json(t)["secret"].(string)
		course := "cls-notice-" + run
		wantStatus(t, fn[hrAPI].http(t, "PUT", "/v1/classes/"+course, hr, jsonBody(t, map[string]any{
			"title": "信访干部专题培训班", "institution": "中共重庆市委党校（重庆行政学院）", "institution_type": "party_school",
			"unit": unitCQ, "start_date": "2026-03-02", "end_date": "2026-03-06", "full_time": true, "planned_hours": 40,
			"cadre_ids": []string{cadre},
		})), http.StatusCreated)
		wantStatus(t, fn[hrAPI].http(t, "POST", "/v1/classes/"+course+"/file", hr, nil), http.StatusOK)

		var outbox []streamRecord
		for _, rec := range readStream(t, db, streams, table) {
			if rec["eventName"] == "INSERT" && keyS(rec, "pk") == "DOC#due" {
				outbox = append(outbox, rec)
			}
		}
		if len(outbox) != 1 {
			t.Fatalf("%d outbox entries in the stream, want 1 (one called cadre, one subscription)", len(outbox))
		}
		ev := loadEvent(t, "sqs-receive-message.json")
		msg := ev["Records"].([]any)[0].(map[string]any)
		b, err := json.Marshal(outbox[0])
		if err != nil {
			t.Fatal(err)
		}
		msg["body"], msg["messageId"] = string(b), "msg-"+run
		for i := range 2 { // the same message again (SQS delivers at least once): nothing more is sent
			var resp struct {
				BatchItemFailures []map[string]any `json:"batchItemFailures"`
			}
			if err := json.Unmarshal(fn[notices].call(t, ev), &resp); err != nil {
				t.Fatal(err)
			}
			if len(resp.BatchItemFailures) != 0 {
				t.Fatalf("invocation %d: batchItemFailures %v", i+1, resp.BatchItemFailures)
			}
		}
		close(posts)
		var all []got
		for p := range posts {
			all = append(all, p)
		}
		if len(all) != 1 {
			t.Fatalf("the subscriber got %d POSTs, want 1", len(all))
		}
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(all[0].body, all[0].header); err != nil {
			t.Errorf("the delivery's signature: %v", err)
		}
		var payload struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(all[0].body, &payload); err != nil || payload.Type != "class.call_notice" ||
			payload.Data["cadre_id"] != cadre || payload.Data["course_id"] != course {
			t.Errorf("delivered %s", all[0].body)
		}
		r = fn[hrAPI].http(t, "GET", "/v1/subscriptions/"+sub+"/deliveries", admin, nil)
		wantStatus(t, r, http.StatusOK)
		if !bytes.Contains(r.body, []byte(`"status":"delivered"`)) {
			t.Errorf("delivery log %s", r.body)
		}
	})

	// The cold starts, for docs/benchmarks.md (never asserted on).
	for _, id := range functions {
		f := fn[id]
		if d, ok := f.initDuration(); ok {
			t.Logf("cold start %-26s init %8.1f ms (RIE INIT REPORT), first response %8.1f ms", id, float64(d)/1e6, float64(f.first)/1e6)
		} else {
			t.Logf("cold start %-26s init (not reported), first response %8.1f ms", id, float64(f.first)/1e6)
		}
	}
}

// TestBuildFlags checks that every bootstrap was built as scripts/sam.sh builds it: stripped,
// without the RPC mode, without local paths; and that it is within the size targets (issue 6: each
// bootstrap ≤ 10 MB, each zip ≤ 4 MB; docs/benchmarks.md “Lambda deployment packages”). The zip
// here is made with Go's deflate; `make lambda-sizes` measures SAM's own zip, within a few KB.
func TestBuildFlags(t *testing.T) {
	zips := zipSizes(t)
	for _, id := range functions {
		path := filepath.Join(buildDir(), id, "bootstrap")
		if _, err := os.Stat(path); err != nil {
			absent(t, "no bootstrap for %s (scripts/sam.sh build)", id)
		}
		info, err := buildinfo.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		got := map[string]string{}
		for _, s := range info.Settings {
			got[s.Key] = s.Value
		}
		// With -trimpath Go does not record -ldflags (it may hold paths): -s -w is checked on
		// the ELF sections below.
		if got["-tags"] != "lambda.norpc" || got["-trimpath"] != "true" {
			t.Errorf("%s built with -tags %q -trimpath %q, want lambda.norpc and true", id, got["-tags"], got["-trimpath"])
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > 10_000_000 {
			t.Errorf("%s: bootstrap %d bytes, over the 10,000,000 target", id, st.Size())
		}
		if z, ok := zips[id]; !ok {
			t.Errorf("%s: scripts/lambda-sizes.sh made no zip", id)
		} else if z > 4_000_000 {
			t.Errorf("%s: zip %d bytes, over the 4,000,000 target", id, z)
		}
		f, err := elf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range f.Sections {
			if s.Name == ".symtab" || strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_") {
				t.Errorf("%s is not stripped: it has a %s section", id, s.Name)
			}
		}
		f.Close()
	}
}

// zipSizes runs scripts/lambda-sizes.sh (SAM's own zip code, from the .venv scripts/sam.sh made)
// on the build directory and returns each function's zip size in bytes.
func zipSizes(t *testing.T) map[string]int64 {
	t.Helper()
	dir, err := filepath.Abs(buildDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(repoRoot, ".venv", "bin", "python")); err != nil {
		absent(t, "no SAM CLI in .venv to zip the functions as SAM does (scripts/sam.sh --version)")
	}
	out, err := exec.Command(filepath.Join(repoRoot, "scripts", "lambda-sizes.sh"), dir).Output()
	if err != nil {
		t.Fatalf("scripts/lambda-sizes.sh: %v", err)
	}
	sizes := map[string]int64{}
	for _, line := range strings.Split(string(out), "\n") {
		// | Name | bootstrap bytes | MB | zip bytes | MB |
		cells := strings.Split(strings.Trim(line, "| "), "|")
		if len(cells) != 5 {
			continue
		}
		n, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(cells[3]), ",", ""), 10, 64)
		if err == nil {
			sizes[strings.TrimSpace(cells[0])] = n
		}
	}
	return sizes
}
