package localrun

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cadre-training/cadretrain/shared/bolt"
	"github.com/cadre-training/cadretrain/shared/config"
)

func MustConfig(tb testing.TB) *config.Config {
	tb.Helper()
	c, err := config.Parse([]byte(`{"platforms": {}, "api_keys": [{"key": "k", "role": "admin", "units": [""]}]}`))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// MustStart starts a server on an embedded store in a temp dir with spec and extra handlers.
func MustStart(tb testing.TB, spec Spec, fns map[string]any, mod ...func(*Options)) *Server {
	tb.Helper()
	dir := tb.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "db"))
	if err != nil {
		tb.Fatal(err)
	}
	o := Options{
		Addr: "127.0.0.1:0", Store: st, StoreKind: "embedded", Table: "t", Config: MustConfig(tb),
		Spec: &spec, DataDir: dir, Handlers: fns,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}
	for _, m := range mod {
		m(&o)
	}
	s, err := Start(context.Background(), o)
	if err != nil {
		_ = st.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// capture is a function that records the raw events it is invoked with and answers resp.
type capture struct {
	mu     sync.Mutex
	events []json.RawMessage
	resp   any
}

func (c *capture) fn(_ context.Context, ev json.RawMessage) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, append(json.RawMessage(nil), ev...))
	return c.resp, nil
}

func (c *capture) last(tb testing.TB) json.RawMessage {
	tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.events) == 0 {
		tb.Fatal("the function was not invoked")
	}
	return c.events[len(c.events)-1]
}

func readFixture(tb testing.TB, name string) map[string]any {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatal(err)
	}
	return m
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func do(tb testing.TB, req *http.Request) (*http.Response, []byte) {
	tb.Helper()
	// No automatic Accept-Encoding: the request is exactly what the test builds.
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, b
}

// TestEventMatchesAPIGatewayFixture sends the request behind aws-lambda-go's
// apigw-v2-request-no-authorizer.json (GET / by curl) through the local server and compares the
// event the function receives with the fixture: the same fields at every level (except the mTLS
// "authentication", which API Gateway sends only with client certificates) and the same values
// where they do not depend on the deployment or the moment.
func TestEventMatchesAPIGatewayFixture(t *testing.T) {
	c := &capture{resp: events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "ok"}}
	s := MustStart(t, Spec{Routes: []Route{{Method: "ANY", Path: "$default", Function: "capture"}}}, map[string]any{"capture": c.fn})

	req, _ := http.NewRequest("GET", s.URL()+"/", nil)
	req.Header.Set("Accept", "*/*")
	req.Header.Set("User-Agent", "curl/7.58.0")
	if resp, body := do(t, req); resp.StatusCode != 200 || string(body) != "ok" {
		t.Fatalf("status %d body %q, want 200 ok", resp.StatusCode, body)
	}
	var got map[string]any
	if err := json.Unmarshal(c.last(t), &got); err != nil {
		t.Fatal(err)
	}
	want := readFixture(t, "apigw-v2-request-no-authorizer.json")

	if g, w := strings.Join(keys(got), ","), strings.Join(keys(want), ","); g != w {
		t.Errorf("event fields %s, want %s", g, w)
	}
	gctx, wctx := got["requestContext"].(map[string]any), want["requestContext"].(map[string]any)
	delete(wctx, "authentication")
	delete(gctx, "authentication") // aws-lambda-go marshals the empty struct; API Gateway omits it
	if g, w := strings.Join(keys(gctx), ","), strings.Join(keys(wctx), ","); g != w {
		t.Errorf("requestContext fields %s, want %s", g, w)
	}
	if g, w := strings.Join(keys(gctx["http"].(map[string]any)), ","), strings.Join(keys(wctx["http"].(map[string]any)), ","); g != w {
		t.Errorf("requestContext.http fields %s, want %s", g, w)
	}
	if g, w := strings.Join(keys(got["headers"].(map[string]any)), ","), strings.Join(keys(want["headers"].(map[string]any)), ","); g != w {
		t.Errorf("header names %s, want %s", g, w)
	}
	for _, k := range []string{"version", "routeKey", "rawPath", "rawQueryString", "isBase64Encoded"} {
		if got[k] != want[k] {
			t.Errorf("%s=%v, want %v", k, got[k], want[k])
		}
	}
	for _, k := range []string{"routeKey", "stage", "accountId"} {
		if gctx[k] != wctx[k] {
			t.Errorf("requestContext.%s=%v, want %v", k, gctx[k], wctx[k])
		}
	}
	gh, wh := gctx["http"].(map[string]any), wctx["http"].(map[string]any)
	for _, k := range []string{"method", "path", "protocol", "userAgent"} {
		if gh[k] != wh[k] {
			t.Errorf("requestContext.http.%s=%v, want %v", k, gh[k], wh[k])
		}
	}
	gHdr, wHdr := got["headers"].(map[string]any), want["headers"].(map[string]any)
	for _, k := range []string{"accept", "content-length", "user-agent", "x-forwarded-proto"} {
		if k == "x-forwarded-proto" {
			if gHdr[k] != "http" { // the local server is plain HTTP
				t.Errorf("headers[%s]=%v, want http", k, gHdr[k])
			}
			continue
		}
		if gHdr[k] != wHdr[k] {
			t.Errorf("headers[%s]=%v, want %v", k, gHdr[k], wHdr[k])
		}
	}
	if gHdr["x-forwarded-for"] != gh["sourceIp"] || gh["sourceIp"] != "127.0.0.1" {
		t.Errorf("x-forwarded-for %v and sourceIp %v, want both 127.0.0.1", gHdr["x-forwarded-for"], gh["sourceIp"])
	}
	if _, ok := gctx["timeEpoch"].(float64); !ok {
		t.Errorf("timeEpoch %v is not a number", gctx["timeEpoch"])
	}
	// The round trip through aws-lambda-go's type must keep everything.
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(c.last(t), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.RequestContext.Time == "" || len(ev.RequestContext.RequestID) != 16 {
		t.Errorf("time %q requestId %q: want an API Gateway time and a 16-character id", ev.RequestContext.Time, ev.RequestContext.RequestID)
	}
}

// TestEventQueryCookiesHeaders checks the parts of the iam fixture that depend on the request:
// repeated query parameters and headers joined with ",", cookies split off the headers, a JSON
// body passed as text, and a binary body base64-encoded.
func TestEventQueryCookiesHeaders(t *testing.T) {
	c := &capture{resp: events.APIGatewayV2HTTPResponse{StatusCode: 200}}
	s := MustStart(t, Spec{Routes: []Route{{Method: "POST", Path: "/my/{thing}", Function: "capture"}}}, map[string]any{"capture": c.fn})
	want := readFixture(t, "apigw-v2-request-iam.json")

	body := "{\r\n\t\"a\": 1\r\n}"
	req, _ := http.NewRequest("POST", s.URL()+"/my/path?"+want["rawQueryString"].(string), strings.NewReader(body))
	req.Header.Add("Header1", "value1")
	req.Header.Add("Header2", "value2")
	req.Header.Add("X-Multi", "a")
	req.Header.Add("X-Multi", "b")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Add("Cookie", "cookie1; cookie2")
	if resp, _ := do(t, req); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(c.last(t), &ev); err != nil {
		t.Fatal(err)
	}
	var wantEv events.APIGatewayV2HTTPRequest
	b, _ := json.Marshal(want)
	_ = json.Unmarshal(b, &wantEv)

	if got, want := ev.RawQueryString, wantEv.RawQueryString; got != want {
		t.Errorf("rawQueryString %q, want %q", got, want)
	}
	if got, want := ev.QueryStringParameters, wantEv.QueryStringParameters; len(got) != len(want) || got["parameter1"] != want["parameter1"] || got["parameter2"] != want["parameter2"] {
		t.Errorf("queryStringParameters %v, want %v", got, want)
	}
	if got, want := strings.Join(ev.Cookies, "|"), strings.Join(wantEv.Cookies, "|"); got != want {
		t.Errorf("cookies %q, want %q", got, want)
	}
	if _, ok := ev.Headers["cookie"]; ok {
		t.Error("the cookie header must move to cookies")
	}
	for k, v := range map[string]string{"header1": "value1", "header2": "value2", "x-multi": "a,b", "content-type": "application/json"} {
		if ev.Headers[k] != v {
			t.Errorf("headers[%s]=%q, want %q", k, ev.Headers[k], v)
		}
	}
	if ev.Body != wantEv.Body || ev.IsBase64Encoded {
		t.Errorf("body %q base64 %v, want %q as text", ev.Body, ev.IsBase64Encoded, wantEv.Body)
	}
	if ev.RouteKey != "POST /my/{thing}" || ev.RequestContext.RouteKey != ev.RouteKey || ev.PathParameters["thing"] != "path" {
		t.Errorf("routeKey %q / %q pathParameters %v", ev.RouteKey, ev.RequestContext.RouteKey, ev.PathParameters)
	}

	bin := []byte{0, 1, 2, 0xff}
	req, _ = http.NewRequest("POST", s.URL()+"/my/p%20q", bytes.NewReader(bin))
	req.Header.Set("Content-Type", "application/octet-stream")
	do(t, req)
	if err := json.Unmarshal(c.last(t), &ev); err != nil {
		t.Fatal(err)
	}
	dec, _ := base64.StdEncoding.DecodeString(ev.Body)
	if !ev.IsBase64Encoded || !bytes.Equal(dec, bin) {
		t.Errorf("binary body %q base64 %v, want base64 of %v", ev.Body, ev.IsBase64Encoded, bin)
	}
	if ev.RawPath != "/my/p%20q" || ev.PathParameters["thing"] != "p q" {
		t.Errorf("rawPath %q thing %q, want /my/p%%20q and the decoded \"p q\"", ev.RawPath, ev.PathParameters["thing"])
	}
}

func TestRouting(t *testing.T) {
	routes := []Route{
		{Method: "GET", Path: "/v1/cadres/{cadre_id}", Function: "param"},
		{Method: "GET", Path: "/v1/cadres/special", Function: "literal"},
		{Method: "ANY", Path: "/v1/cadres/{cadre_id}/records", Function: "any"},
		{Method: "POST", Path: "/v1/cadres/{cadre_id}/records", Function: "post"},
		{Method: "GET", Path: "/files/{proxy+}", Function: "greedy"},
	}
	rt, err := newRouter(routes)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path, fn string
		params           map[string]string
	}{
		{"GET", "/v1/cadres/c1", "param", map[string]string{"cadre_id": "c1"}},
		{"GET", "/v1/cadres/special", "literal", nil},
		{"GET", "/v1/cadres/c%2F1", "param", map[string]string{"cadre_id": "c/1"}},
		{"POST", "/v1/cadres/c1", "", nil},
		{"GET", "/v1/cadres/c1/", "", nil},
		{"GET", "/v1/cadres/", "", nil},
		{"GET", "/v1/cadres/c1/records", "any", map[string]string{"cadre_id": "c1"}},
		{"POST", "/v1/cadres/c1/records", "post", map[string]string{"cadre_id": "c1"}},
		{"GET", "/files/a/b/c", "greedy", map[string]string{"proxy": "a/b/c"}},
		{"GET", "/files/", "", nil},
		{"GET", "/nothing", "", nil},
	} {
		r, params, ok := rt.match(tc.method, tc.path)
		if ok != (tc.fn != "") || r.Function != tc.fn {
			t.Errorf("%s %s: function %q ok %v, want %q", tc.method, tc.path, r.Function, ok, tc.fn)
			continue
		}
		if len(params) != len(tc.params) {
			t.Errorf("%s %s: params %v, want %v", tc.method, tc.path, params, tc.params)
		}
		for k, v := range tc.params {
			if params[k] != v {
				t.Errorf("%s %s: params %v, want %v", tc.method, tc.path, params, tc.params)
			}
		}
	}
	def, err := newRouter(append(routes, Route{Method: "ANY", Path: "$default", Function: "default"}))
	if err != nil {
		t.Fatal(err)
	}
	if r, _, ok := def.match("DELETE", "/nothing"); !ok || r.Function != "default" || r.RouteKey() != "$default" {
		t.Errorf("$default: %v %v", r, ok)
	}
	for _, bad := range [][]Route{
		{{Method: "GET", Path: "/a/{p+}/b", Function: "f"}},
		{{Method: "GET", Path: "/a/x{p}", Function: "f"}},
		{{Method: "GET", Path: "/a", Function: "f"}, {Method: "GET", Path: "/a", Function: "g"}},
		{{Method: "GET", Path: "a", Function: "f"}},
	} {
		if _, err := newRouter(bad); err == nil {
			t.Errorf("newRouter(%v) succeeded; want an error", bad)
		}
	}
}

// TestGatewayAnswers: no route → API Gateway's 404; body over 10 MiB → 413; a function error →
// 500; the function's response converted back (status, headers, multi-value headers, cookies,
// base64 body).
func TestGatewayAnswers(t *testing.T) {
	fail := func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{}, io.ErrUnexpectedEOF
	}
	rich := func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{
			StatusCode:        418,
			Headers:           map[string]string{"Content-Type": "image/png", "X-One": "1"},
			MultiValueHeaders: map[string][]string{"X-Many": {"a", "b"}},
			Cookies:           []string{"a=1; Path=/", "b=2"},
			Body:              base64.StdEncoding.EncodeToString([]byte{0x89, 'P', 'N', 'G'}),
			IsBase64Encoded:   true,
		}, nil
	}
	plain := func(context.Context, json.RawMessage) (any, error) { return map[string]int{"n": 1}, nil }
	c := &capture{resp: events.APIGatewayV2HTTPResponse{StatusCode: 204}}
	s := MustStart(t, Spec{Routes: []Route{
		{Method: "GET", Path: "/fail", Function: "fail"},
		{Method: "GET", Path: "/rich", Function: "rich"},
		{Method: "GET", Path: "/plain", Function: "plain"},
		{Method: "POST", Path: "/big", Function: "capture"},
	}}, map[string]any{"fail": fail, "rich": rich, "plain": plain, "capture": c.fn})

	get := func(path string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", s.URL()+path, nil)
		return do(t, req)
	}
	if resp, body := get("/nope"); resp.StatusCode != 404 || string(body) != `{"message":"Not Found"}` {
		t.Errorf("unmatched: %d %s", resp.StatusCode, body)
	}
	if resp, body := get("/fail"); resp.StatusCode != 500 || string(body) != `{"message":"Internal Server Error"}` {
		t.Errorf("function error: %d %s", resp.StatusCode, body)
	}
	resp, body := get("/rich")
	if resp.StatusCode != 418 || !bytes.Equal(body, []byte{0x89, 'P', 'N', 'G'}) || resp.Header.Get("Content-Type") != "image/png" ||
		resp.Header.Get("X-One") != "1" || strings.Join(resp.Header.Values("X-Many"), ",") != "a,b" ||
		strings.Join(resp.Header.Values("Set-Cookie"), "|") != "a=1; Path=/|b=2" || resp.Header.Get("Apigw-Requestid") == "" {
		t.Errorf("rich response: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	if resp, body := get("/plain"); resp.StatusCode != 200 || string(body) != `{"n":1}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("inferred response: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	big := bytes.Repeat([]byte("x"), MaxRequestBytes+1)
	req, _ := http.NewRequest("POST", s.URL()+"/big", bytes.NewReader(big))
	req.Header.Set("Content-Type", "text/plain")
	if resp, body := do(t, req); resp.StatusCode != 413 || !strings.Contains(string(body), `"message"`) {
		t.Errorf("over 10 MiB: %d %s", resp.StatusCode, body)
	}
	req, _ = http.NewRequest("POST", s.URL()+"/big", bytes.NewReader(big[:MaxRequestBytes]))
	req.Header.Set("Content-Type", "text/plain")
	if resp, _ := do(t, req); resp.StatusCode != 204 {
		t.Errorf("exactly 10 MiB: %d, want the function's 204", resp.StatusCode)
	}
}
