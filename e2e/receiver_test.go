package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// notice is one POST a receiver got.
type notice struct {
	ID      string // webhook-id
	Type    string
	EventID string
	Data    map[string]any
	Status  int // what the receiver answered
}

// receiver is a local subscriber (an httptest server on 127.0.0.1). It verifies each POST's
// Standard Webhooks signature with the secret of the path's subscription and answers what
// answer says (default 200).
type receiver struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	secrets map[string]string // path → secret
	got     map[string][]notice
	answer  func(path string, n notice, seen int) int // seen: earlier POSTs of this webhook-id
	arrived chan string                               // webhook-ids, as they arrive (buffered)
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{t: t, secrets: map[string]string{}, got: map[string][]notice{}, arrived: make(chan string, 1000)}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) url(path string) string { return rc.srv.URL + path }

func (rc *receiver) setSecret(path, secret string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secrets[path] = secret
}

func (rc *receiver) setAnswer(fn func(path string, n notice, seen int) int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.answer = fn
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	secret, answer := rc.secrets[r.URL.Path], rc.answer
	rc.mu.Unlock()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err == nil {
		err = wh.Verify(body, r.Header)
	}
	if err != nil {
		rc.t.Errorf("receiver %s: a POST whose signature does not verify: %v (headers %v)", r.URL.Path, err, r.Header)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var p struct {
		Type    string         `json:"type"`
		EventID string         `json:"event_id"`
		Data    map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		rc.t.Errorf("receiver: body %s: %v", body, err)
	}
	n := notice{ID: r.Header.Get("webhook-id"), Type: p.Type, EventID: p.EventID, Data: p.Data}
	rc.mu.Lock()
	seen := 0
	for _, o := range rc.got[r.URL.Path] {
		if o.ID == n.ID {
			seen++
		}
	}
	rc.mu.Unlock()
	n.Status = http.StatusOK
	if answer != nil {
		n.Status = answer(r.URL.Path, n, seen)
	}
	rc.mu.Lock()
	rc.got[r.URL.Path] = append(rc.got[r.URL.Path], n)
	rc.mu.Unlock()
	rc.arrived <- n.ID
	w.WriteHeader(n.Status)
}

// notices returns what path got, in arrival order.
func (rc *receiver) notices(path string) []notice {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]notice(nil), rc.got[path]...)
}

// ofType returns the notices of path of type typ.
func (rc *receiver) ofType(path, typ string) []notice {
	var out []notice
	for _, n := range rc.notices(path) {
		if n.Type == typ {
			out = append(out, n)
		}
	}
	return out
}
