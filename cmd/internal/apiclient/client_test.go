package apiclient

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

type seen struct {
	method, path, query string
	header              http.Header
	body                []byte
	hasBody             bool
}

func recorder(t *testing.T, status int, answer string) (*Client, *seen) {
	t.Helper()
	s := &seen{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.method, s.path, s.query, s.header = r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone()
		s.hasBody = r.ContentLength != 0
		s.body, _ = io.ReadAll(r.Body)
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return &Client{Base: srv.URL, HTTP: srv.Client()}, s
}

func TestDoSendsJSONWithKeyAndHeaders(t *testing.T) {
	c, s := recorder(t, http.StatusCreated, `{"id":"r1"}`)
	hdr := http.Header{"Idempotency-Key": {"k-1"}, "Authorization": {"Basic x"}, "Content-Type": {"text/plain"}}
	st, b, err := c.Do(context.Background(), http.MethodPost, "/v1/cadres/c1/self-study?x=1", "hr-key", hdr, []byte(`{"hours":100}`))
	if err != nil || st != http.StatusCreated || string(b) != `{"id":"r1"}` {
		t.Fatalf("got %d %q %v", st, b, err)
	}
	if s.method != http.MethodPost || s.path != "/v1/cadres/c1/self-study" || s.query != "x=1" {
		t.Errorf("request %s %s?%s", s.method, s.path, s.query)
	}
	if string(s.body) != `{"hours":100}` {
		t.Errorf("body %q", s.body)
	}
	for k, want := range map[string]string{"Idempotency-Key": "k-1", "Authorization": "Bearer hr-key", "Content-Type": "application/json"} {
		if got := s.header.Values(k); len(got) != 1 || got[0] != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
}

func TestDoWithoutBodyOrKey(t *testing.T) {
	c, s := recorder(t, http.StatusOK, `{"status":"ok"}`)
	st, b, err := c.Do(context.Background(), http.MethodGet, "/v1/health", "", http.Header{"X-Test": {"a", "b"}}, nil)
	if err != nil || st != http.StatusOK || string(b) != `{"status":"ok"}` {
		t.Fatalf("got %d %q %v", st, b, err)
	}
	if s.hasBody || len(s.body) != 0 {
		t.Errorf("sent a body: %q", s.body)
	}
	if s.header.Get("Content-Type") != "" || s.header.Get("Authorization") != "" {
		t.Errorf("headers %v", s.header)
	}
	if got := s.header.Values("X-Test"); len(got) != 2 {
		t.Errorf("X-Test %q", got)
	}
}

// An error status is an answer like any other: the caller decides.
func TestDoReturnsErrorStatus(t *testing.T) {
	c, _ := recorder(t, http.StatusConflict, `{"status":409,"detail":"other content"}`)
	st, b, err := c.Do(context.Background(), http.MethodPost, "/v1/x", "k", nil, []byte(`{}`))
	if err != nil || st != http.StatusConflict || string(b) != `{"status":409,"detail":"other content"}` {
		t.Fatalf("got %d %q %v", st, b, err)
	}
}

func TestDoTransportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	c := &Client{Base: srv.URL, HTTP: srv.Client()}
	srv.Close()
	st, b, err := c.Do(context.Background(), http.MethodGet, "/v1/health", "", nil, nil)
	if err == nil || st != 0 || b != nil {
		t.Fatalf("got %d %q %v", st, b, err)
	}
}
