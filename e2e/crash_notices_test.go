package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// cadredProcess is cmd/cadred run as a subprocess on a data dir, so a test can SIGKILL it.
type cadredProcess struct {
	cmd *exec.Cmd
	url string
}

func buildCadred(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cadred")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/cadre-training/cadretrain/cmd/cadred").CombinedOutput()
	if err != nil {
		t.Fatalf("go build cmd/cadred: %v\n%s", err, out)
	}
	return bin
}

// startCadred starts the binary on dataDir with short notice retries and returns once it listens.
func startCadred(t *testing.T, bin, dataDir string) *cadredProcess {
	t.Helper()
	cfg, err := filepath.Abs(filepath.Join(repoRoot, "config", "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-data-dir", dataDir, "-config", cfg, "-poll", "50ms",
		"-notice-retry-schedule", "0s,20ms,40ms,80ms,160ms,320ms,640ms,1s")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &cadredProcess{cmd: cmd}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct{ Msg, URL string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				urls <- line.URL
			}
			if testing.Verbose() {
				fmt.Fprintln(os.Stderr, sc.Text())
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	select {
	case p.url = <-urls:
	case <-time.After(deadline):
		t.Fatal("cadred did not start listening")
	}
	return p
}

// kill SIGKILLs the process: nothing of it runs after this returns.
func (p *cadredProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

// TestNoticesSurviveSIGKILL: the notice outbox is in the store, so a server killed while a
// delivery is in flight (the receiver has it, the server has not recorded the answer) sends it
// again after the restart with the same webhook-id, and a delivery whose acknowledgement was
// recorded is never sent again: no notice lost, none sent twice after the receiver acknowledged
// it (docs/api.md “Notices”).
func TestNoticesSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills cmd/cadred")
	}
	bin := buildCadred(t)
	dataDir := t.TempDir()

	var (
		mu      sync.Mutex
		got     = map[string]int{} // webhook-id → POSTs received
		cadreOf = map[string]string{}
		hold    = true
		held    = make(chan string, 1)
		release = make(chan struct{})
		secret  string
	)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		wh, err := standardwebhooks.NewWebhook(secret)
		mu.Unlock()
		if err == nil {
			err = wh.Verify(body, r.Header)
		}
		if err != nil {
			t.Errorf("receiver: signature: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var p struct {
			Data struct {
				CadreID string `json:"cadre_id"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &p)
		id := r.Header.Get("webhook-id")
		mu.Lock()
		got[id]++ // the receiver has it (and would act on it) before it answers
		cadreOf[id] = p.Data.CadreID
		block := hold
		hold = false
		mu.Unlock()
		if block {
			held <- id
			<-release // the server is killed while this answer is pending
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	defer close(release)

	// Run 1: a subscription, three cadres called to a class; the first delivery hangs at the
	// receiver and the server is killed.
	p := startCadred(t, bin, dataDir)
	e := &env{url: p.url, kind: "embedded", run: randHex(4)}
	base := "cn/cq/" + e.id("crash")
	r := e.do(t, req{method: "PUT", path: "/v1/subscriptions/" + e.id("sub"), key: keyAdmin, body: map[string]any{
		"url": recv.URL + "/notices", "events": []string{"class.call_notice"}, "unit": base}})
	wantStatus(t, r, http.StatusCreated)
	mu.Lock()
	secret = r.json(t)["secret"].(string)
	mu.Unlock()
	cadres := []string{e.id("c1"), e.id("c2"), e.id("c3")}
	for _, c := range cadres {
		e.putCadre(t, keyCQ, c, base, townshipRk)
	}
	fileClass := func(e *env, course string, ids []string) {
		t.Helper()
		wantStatus(t, e.do(t, req{method: "PUT", path: "/v1/classes/" + course, key: keyCQ, body: map[string]any{
			"title": "班", "unit": base, "start_date": "2027-03-01", "end_date": "2027-03-05", "planned_hours": 40, "cadre_ids": ids,
		}}), http.StatusCreated)
		wantStatus(t, e.do(t, req{method: "POST", path: "/v1/classes/" + course + "/file", key: keyCQ}), http.StatusOK)
	}
	fileClass(e, e.id("cls-1"), cadres)
	var inFlight string
	select {
	case inFlight = <-held:
	case <-time.After(deadline):
		t.Fatal("no delivery reached the receiver")
	}
	p.kill(t)

	deliveries := func(e *env) map[string]string {
		r := e.do(t, req{method: "GET", path: "/v1/subscriptions/" + e.id("sub") + "/deliveries", key: keyAdmin})
		wantStatus(t, r, http.StatusOK)
		out := map[string]string{}
		for _, d := range r.json(t)["deliveries"].([]any) {
			m := d.(map[string]any)
			out[m["delivery_id"].(string)] = m["status"].(string)
		}
		return out
	}
	allDelivered := func(e *env, n int) func() string {
		return func() string {
			ds := deliveries(e)
			for _, st := range ds {
				if st != "delivered" {
					return fmt.Sprint(ds)
				}
			}
			if len(ds) != n {
				return fmt.Sprint(ds)
			}
			return ""
		}
	}

	// Run 2: the unacknowledged delivery is sent again (same webhook-id), the others once.
	p = startCadred(t, bin, dataDir)
	e.url = p.url
	eventually(t, "every call notice delivered after the restart", allDelivered(e, 3))
	mu.Lock()
	if got[inFlight] != 2 {
		t.Errorf("the delivery in flight at the kill (%s) was received %d times, want 2 (once unacknowledged, once after the restart)", inFlight, got[inFlight])
	}
	seen := map[string]bool{}
	for id, n := range got {
		seen[cadreOf[id]] = true
		if id != inFlight && n != 1 {
			t.Errorf("delivery %s received %d times, want once", id, n)
		}
	}
	mu.Unlock()
	for _, c := range cadres {
		if !seen[c] {
			t.Errorf("the call notice of %s was lost", c)
		}
	}
	before := map[string]int{}
	mu.Lock()
	for id, n := range got {
		before[id] = n
	}
	mu.Unlock()

	// Run 3: killed after every delivery was acknowledged and recorded; after the restart a new
	// notice goes out, and none of the acknowledged ones again.
	p.kill(t)
	p = startCadred(t, bin, dataDir)
	e.url = p.url
	c4 := e.id("c4")
	e.putCadre(t, keyCQ, c4, base, townshipRk)
	fileClass(e, e.id("cls-2"), []string{c4})
	eventually(t, "the new notice delivered", allDelivered(e, 4))
	mu.Lock()
	defer mu.Unlock()
	for id, n := range before {
		if got[id] != n {
			t.Errorf("acknowledged delivery %s was sent again after the restart (%d → %d)", id, n, got[id])
		}
	}
	if len(got) != 4 {
		t.Errorf("%d distinct deliveries received, want 4: %v", len(got), got)
	}
}
