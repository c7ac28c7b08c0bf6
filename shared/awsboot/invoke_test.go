package awsboot

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// lambdaAPI answers Invoke calls with the scripted responses in turn and keeps the requests.
type lambdaAPI struct {
	mu      sync.Mutex
	replies []func(w http.ResponseWriter)
	reqs    []*http.Request
	bodies  []string
}

func (l *lambdaAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, _ := io.ReadAll(r.Body)
	l.reqs, l.bodies = append(l.reqs, r), append(l.bodies, string(b))
	l.replies[min(len(l.reqs), len(l.replies))-1](w)
}

func reply(status int, header map[string]string, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func testInvoker(t *testing.T, api *lambdaAPI) *Invoker {
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", srv.URL)
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "")
	inv := NewInvoker(aws.Config{Region: "cn-north-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "token")})
	inv.sleep = func(context.Context, time.Duration) error { return nil } // no real waiting between attempts
	return inv
}

// TestInvoke: the Invoke API call as Lambda documents it (path, invocation type, SigV4 for
// service lambda in the function's region, the session token), the function's answer returned;
// throttling and server errors retried up to 3 attempts, refusals and function errors not.
func TestInvoke(t *testing.T) {
	throttled := reply(429, map[string]string{"X-Amzn-ErrorType": "TooManyRequestsException"}, `{"Type":"User","message":"Rate exceeded"}`)
	for _, tc := range []struct {
		name      string
		async     bool
		replies   []func(http.ResponseWriter)
		want      string
		attempts  int
		wantErr   string // substring of the error; "" for none
		errStatus int
	}{
		{"sync", false, []func(http.ResponseWriter){reply(200, nil, `{"xlsx":"UEs="}`)}, `{"xlsx":"UEs="}`, 1, "", 0},
		{"async", true, []func(http.ResponseWriter){reply(202, nil, ``)}, "", 1, "", 0},
		{"throttled once", false, []func(http.ResponseWriter){throttled, reply(200, nil, `"ok"`)}, `"ok"`, 2, "", 0},
		{"server errors", true, []func(http.ResponseWriter){reply(503, nil, `{"message":"unavailable"}`)}, "", 3, "unavailable", 503},
		{"unknown function", false, []func(http.ResponseWriter){reply(404, map[string]string{"X-Amzn-ErrorType": "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.awsgirawebservice/"},
			`{"Type":"User","Message":"Function not found: render-xlsx"}`)}, "", 1, "ResourceNotFoundException: Function not found: render-xlsx", 404},
		{"function error", false, []func(http.ResponseWriter){reply(200, map[string]string{"X-Amz-Function-Error": "Unhandled"}, `{"errorMessage":"boom","errorType":"errorString"}`)},
			"", 1, `failed (Unhandled): {"errorMessage":"boom"`, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := &lambdaAPI{replies: tc.replies}
			out, err := testInvoker(t, api).Invoke(context.Background(), "render-xlsx", tc.async, []byte(`{"a":1}`))
			if len(api.reqs) != tc.attempts {
				t.Errorf("%d attempts, want %d", len(api.reqs), tc.attempts)
			}
			if tc.wantErr == "" {
				if err != nil || string(out) != tc.want {
					t.Fatalf("got %q, %v; want %q", out, err, tc.want)
				}
			} else {
				var ie *InvokeError
				if !errors.As(err, &ie) || ie.Status != tc.errStatus || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want an InvokeError %d with %q", err, tc.errStatus, tc.wantErr)
				}
			}
			r := api.reqs[0]
			typ := map[bool]string{false: "RequestResponse", true: "Event"}[tc.async]
			if r.Method != "POST" || r.URL.Path != "/2015-03-31/functions/render-xlsx/invocations" || r.Header.Get("X-Amz-Invocation-Type") != typ || api.bodies[0] != `{"a":1}` {
				t.Errorf("request %s %s type %q body %q", r.Method, r.URL.Path, r.Header.Get("X-Amz-Invocation-Type"), api.bodies[0])
			}
			if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || !strings.Contains(auth, "/cn-north-1/lambda/aws4_request") {
				t.Errorf("Authorization %q", auth)
			}
			if r.Header.Get("X-Amz-Security-Token") != "token" || r.Header.Get("X-Amz-Date") == "" {
				t.Errorf("token %q, date %q", r.Header.Get("X-Amz-Security-Token"), r.Header.Get("X-Amz-Date"))
			}
		})
	}
}

// TestInvokerEndpoint: AWS_ENDPOINT_URL_LAMBDA, else AWS_ENDPOINT_URL, else the region's
// endpoint in its partition.
func TestInvokerEndpoint(t *testing.T) {
	for _, tc := range []struct {
		region, lambdaURL, globalURL, ignore, want string
	}{
		{"cn-north-1", "", "", "", "https://lambda.cn-north-1.amazonaws.com.cn"},
		{"us-east-1", "", "", "", "https://lambda.us-east-1.amazonaws.com"},
		{"cn-north-1", "http://127.0.0.1:9001/", "http://127.0.0.1:9", "", "http://127.0.0.1:9001"},
		{"cn-north-1", "", "http://127.0.0.1:9", "", "http://127.0.0.1:9"},
		{"cn-north-1", "http://127.0.0.1:9001", "http://127.0.0.1:9", "true", "https://lambda.cn-north-1.amazonaws.com.cn"},
	} {
		setEnv(t, map[string]string{"AWS_REGION": tc.region, "AWS_ENDPOINT_URL_LAMBDA": tc.lambdaURL, "AWS_ENDPOINT_URL": tc.globalURL, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": tc.ignore})
		cfg, err := EnvConfig()
		if err != nil {
			t.Fatal(err)
		}
		if got := NewInvoker(cfg).endpoint; got != tc.want {
			t.Errorf("%+v: endpoint %q, want %q", tc, got, tc.want)
		}
	}
}

func setEnv(t *testing.T, env map[string]string) {
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "", "AWS_DEFAULT_REGION": ""} {
		t.Setenv(k, v)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}
