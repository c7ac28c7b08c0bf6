package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

const (
	secret1 = "whsec_ZGVtby1wbGF0Zm9ybS1zZWNyZXQtMDAwMS1yb3RhdGU="
	secret2 = "whsec_ZGVtby1wbGF0Zm9ybS1zZWNyZXQtMDAwMi1uZXdrZXk="
)

func verifier(t *testing.T, secret string) *standardwebhooks.Webhook {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	return wh
}

func TestHeadersVerify(t *testing.T) {
	body := []byte(`{"event_id":"evt-1","cadre_id":"c-001"}`)
	h, err := Headers([]string{secret1}, "msg_1", time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifier(t, secret1).Verify(body, h); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if err := verifier(t, secret2).Verify(body, h); err == nil {
		t.Fatal("verified with the other secret")
	}
	if err := verifier(t, secret1).Verify(append(body, ' '), h); err == nil {
		t.Fatal("verified a changed body")
	}
}

func TestHeadersRotation(t *testing.T) {
	body := []byte(`{}`)
	h, err := Headers([]string{secret1, secret2}, "msg_2", time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(h.Get("webhook-signature"))); n != 2 {
		t.Fatalf("want 2 signatures, got %d: %q", n, h.Get("webhook-signature"))
	}
	for _, s := range []string{secret1, secret2} {
		if err := verifier(t, s).Verify(body, h); err != nil {
			t.Fatalf("verify with %s: %v", s, err)
		}
	}
}

func TestHeadersBadSecret(t *testing.T) {
	if _, err := Headers([]string{"nope"}, "msg", time.Now(), nil); err == nil {
		t.Fatal("want an error for a secret without whsec_")
	}
	if _, err := Headers([]string{"whsec_!!!"}, "msg", time.Now(), nil); err == nil {
		t.Fatal("want an error for a secret that is not base64")
	}
}

func writeConfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	doc := `{"platforms": {"elearn-demo": {"secrets": ["` + secret1 + `", "` + secret2 + `"]}, "other": {"secrets": ["` + secret2 + `"]}}, "api_keys": []}`
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The default output: three -H lines that verify, plus the body file.
func TestRunPrintsCurlHeaders(t *testing.T) {
	cfg := writeConfig(t)
	bodyPath := filepath.Join(t.TempDir(), "body.json")
	body := []byte(`{"event_id":"evt-9f2"}`)
	os.WriteFile(bodyPath, body, 0o600)
	var out, errb bytes.Buffer
	if code := run([]string{"-config", cfg, "-id", "msg_abc", "-file", bodyPath}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	h := http.Header{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if rest, ok := strings.CutPrefix(line, "-H '"); ok {
			k, v, _ := strings.Cut(strings.TrimSuffix(rest, "'"), ": ")
			h.Set(k, v)
		}
	}
	if h.Get("webhook-id") != "msg_abc" {
		t.Fatalf("webhook-id %q in\n%s", h.Get("webhook-id"), out.String())
	}
	if err := verifier(t, secret1).Verify(body, h); err != nil {
		t.Fatalf("verify: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "--data-binary @"+bodyPath) {
		t.Fatalf("no body path in\n%s", out.String())
	}
}

// Body from stdin: it is kept in a temporary file so curl sends the same bytes.
func TestRunStdinKeepsBody(t *testing.T) {
	cfg := writeConfig(t)
	var out, errb bytes.Buffer
	body := `{"x":1}`
	if code := run([]string{"-config", cfg, "-platform", "other"}, strings.NewReader(body), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	i := strings.Index(out.String(), "--data-binary @")
	if i < 0 {
		t.Fatalf("no body file in\n%s", out.String())
	}
	path := strings.TrimSpace(out.String()[i+len("--data-binary @"):])
	defer os.Remove(path)
	got, err := os.ReadFile(path)
	if err != nil || string(got) != body {
		t.Fatalf("body file %q: %q, %v", path, got, err)
	}
}

// -post against a server that verifies like the real one (any configured secret matches).
func TestRunPost(t *testing.T) {
	var gotCT string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotCT = r.Header.Get("Content-Type")
		for _, s := range []string{secret1, secret2} {
			if verifier(t, s).Verify(b, r.Header) == nil {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"results":[{"event_id":"evt-1","status":"created"}]}`)
				return
			}
		}
		http.Error(w, `{"status":401}`, http.StatusUnauthorized)
	}))
	defer srv.Close()

	var out, errb bytes.Buffer
	code := run([]string{"-secret", secret2, "-post", srv.URL}, strings.NewReader(`{"event_id":"evt-1"}`), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	if !strings.HasPrefix(out.String(), "200 OK\n") || !strings.Contains(out.String(), `"status":"created"`) {
		t.Fatalf("output:\n%s", out.String())
	}
	if gotCT != "application/json" {
		t.Fatalf("Content-Type %q", gotCT)
	}

	// A wrong secret: the status is printed and the exit code is 1.
	out.Reset()
	errb.Reset()
	code = run([]string{"-secret", "whsec_" + "d3Jvbmc=", "-post", srv.URL}, strings.NewReader(`{}`), &out, &errb)
	if code != 1 || !strings.HasPrefix(out.String(), "401 ") {
		t.Fatalf("exit %d, output:\n%s%s", code, out.String(), errb.String())
	}

	// A stale timestamp is signed as asked (the server's tolerance rejects it).
	out.Reset()
	code = run([]string{"-secret", secret1, "-timestamp", "1000", "-post", srv.URL}, strings.NewReader(`{}`), &out, &errb)
	if code != 1 {
		t.Fatalf("stale timestamp accepted: %s", out.String())
	}
}

func TestRunMissingPlatform(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-config", writeConfig(t), "-platform", "nope"}, strings.NewReader(`{}`), &out, &errb); code != 1 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(errb.String(), `no secret for platform "nope"`) {
		t.Fatalf("stderr: %s", errb.String())
	}
}
