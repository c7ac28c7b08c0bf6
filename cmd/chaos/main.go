// Command chaos is the crash test of the one-machine server (make chaos): it runs a cadred binary
// on a fresh data dir on loopback, sends signed webhook batches from many retrying senders while
// it SIGKILLs and restarts the server several times, and then checks the totals against what was
// sent:
//
//   - lost: an acknowledged completion that is not in the archive;
//   - doubled: a completion stored more than once (more records than distinct completions);
//   - forms missing: an acknowledged full-time training without its 年度考核登记表 entry once the
//     change feed has caught up (the feed must resume correctly after every kill).
//
// It exits 1 unless all three are 0. Everything it sends goes to 127.0.0.1 only, bounded in count
// and time, and it stops the server it started.
//
//	go build -o bin/cadred ./cmd/cadred && go run ./cmd/chaos -cadred bin/cadred -items 10000 -senders 48 -kills 3
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cadre-training/cadretrain/cmd/internal/apiclient"
)

type options struct {
	cadred, config, platform, hrKey string
	cadredArgs                      string
	items, senders, kills, batch    int
	cadres                          int
	timeout                         time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.cadred, "cadred", "bin/cadred", "the cadred binary to crash")
	flag.StringVar(&o.cadredArgs, "cadred-args", "", "more flags for cadred, space-separated (e.g. -pprof 127.0.0.1:6060)")
	flag.StringVar(&o.config, "config", apiclient.DefaultConfig(), "configuration file (API keys and platform secrets)")
	flag.StringVar(&o.platform, "platform", "elearn-demo", "platform sending the completions")
	flag.StringVar(&o.hrKey, "hr-key", "demo-hr-key-cq-not-for-production", "HR API key covering cn/cq")
	flag.IntVar(&o.items, "items", 10000, "completions to send")
	flag.IntVar(&o.senders, "senders", 48, "concurrent retrying senders")
	flag.IntVar(&o.kills, "kills", 3, "SIGKILLs of the server during the ingest")
	flag.IntVar(&o.batch, "batch", 10, "completions per webhook request")
	flag.IntVar(&o.cadres, "cadres", 100, "cadres the completions are spread over")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "the whole run's limit")
	flag.Parse()
	ok, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// server is the cadred process under test.
type server struct {
	bin, dataDir, addr, config string
	args                       []string
	mu                         sync.Mutex
	cmd                        *exec.Cmd
	log                        *os.File
}

func (s *server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command(s.bin, append([]string{"-addr", s.addr, "-store", "embedded", "-data-dir", s.dataDir, "-config", s.config}, s.args...)...)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + s.addr + "/v1/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("cadred not healthy after 30 s (log: %s)", s.log.Name())
}

func (s *server) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Kill() // SIGKILL: nothing is flushed, nothing is closed
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

func (s *server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(os.Interrupt)
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

type item struct {
	EventID         string  `json:"event_id"`
	CadreID         string  `json:"cadre_id"`
	Kind            string  `json:"kind"`
	FullTime        *bool   `json:"full_time,omitempty"`
	CourseTitle     string  `json:"course_title"`
	Institution     string  `json:"institution,omitempty"`
	InstitutionType string  `json:"institution_type,omitempty"`
	StartDate       string  `json:"start_date,omitempty"`
	EndDate         string  `json:"end_date,omitempty"`
	StudiedOn       string  `json:"studied_on,omitempty"`
	Hours           float64 `json:"hours"`
}

func run(o options) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "chaos-")
	if err != nil {
		return false, err
	}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(dir)
		}
	}()
	logf, err := os.Create(filepath.Join(dir, "cadred.log"))
	if err != nil {
		return false, err
	}
	addr, err := freeAddr()
	if err != nil {
		return false, err
	}
	srv := &server{bin: o.cadred, dataDir: filepath.Join(dir, "data"), addr: addr, config: o.config, log: logf, args: strings.Fields(o.cadredArgs)}
	if err := srv.start(); err != nil {
		return false, err
	}
	defer srv.stop()
	secrets, err := apiclient.PlatformSecrets(o.config, o.platform)
	if err != nil {
		return false, err
	}
	cl := &apiclient.Client{Base: "http://" + addr, HTTP: &http.Client{Timeout: 10 * time.Second}}
	run := fmt.Sprintf("chaos%d", time.Now().Unix())
	unit := "cn/cq/chaos/" + run

	cadres := make([]string, o.cadres)
	for i := range cadres {
		cadres[i] = fmt.Sprintf("%s-c%03d", run, i)
		body, _ := json.Marshal(map[string]any{"name": "压测干部", "unit": unit, "rank": "principal_staff_1", "rank_effective_on": "2020-01-01"})
		if st, ans, err := cl.Do(ctx, "PUT", "/v1/cadres/"+cadres[i], o.hrKey, nil, body); err != nil || st != 201 {
			return false, fmt.Errorf("PUT cadre: %d %s %v", st, ans, err)
		}
	}

	// The completions: every other one a short full-time training (it gets form entries).
	items := make([]item, o.items)
	for i := range items {
		it := item{EventID: fmt.Sprintf("%s-e%06d", run, i), CadreID: cadres[i%len(cadres)], CourseTitle: "压测课程"}
		day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%300).Format(time.DateOnly)
		if i%2 == 0 {
			ft := true
			it.Kind, it.FullTime, it.StartDate, it.EndDate, it.Hours = "centralized", &ft, day, day, 8
			it.Institution, it.InstitutionType = "市委党校", "party_school"
		} else {
			it.Kind, it.StudiedOn, it.Hours = "online", day, 1.5
		}
		items[i] = it
	}
	var batches [][]item
	for i := 0; i < len(items); i += o.batch {
		batches = append(batches, items[i:min(i+o.batch, len(items))])
	}

	// Senders: each batch is sent until a 200 acknowledges it.
	var (
		next, acked, retries atomic.Int64
		wg                   sync.WaitGroup
		sendErr              atomic.Value
	)
	start := time.Now()
	for s := 0; s < o.senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				b := int(next.Add(1) - 1)
				if b >= len(batches) {
					return
				}
				body, _ := json.Marshal(map[string]any{"completions": batches[b]})
				for attempt := 0; ; attempt++ {
					if ctx.Err() != nil {
						sendErr.Store(ctx.Err())
						return
					}
					hdr, err := apiclient.PlatformHeaders(secrets, attempt, fmt.Sprintf("msg_%s_%d", run, b), body)
					if err != nil {
						sendErr.Store(err)
						return
					}
					st, _, err := cl.Do(ctx, "POST", "/v1/webhooks/completions/"+o.platform, "", hdr, body)
					if err == nil && st == 200 {
						acked.Add(int64(len(batches[b])))
						break
					}
					retries.Add(1)
					time.Sleep(time.Duration(20+rand.IntN(80)) * time.Millisecond)
				}
			}
		}()
	}
	// The killer: o.kills SIGKILLs spread over the ingest, each followed by a restart.
	killerDone := make(chan error, 1)
	go func() {
		for k := 0; k < o.kills; k++ {
			target := int64(len(items)) * int64(k+1) / int64(o.kills+1)
			for acked.Load() < target && ctx.Err() == nil {
				time.Sleep(5 * time.Millisecond)
			}
			srv.kill()
			fmt.Printf("kill %d: SIGKILL after %d of %d completions acknowledged\n", k+1, acked.Load(), len(items))
			time.Sleep(time.Duration(100+rand.IntN(400)) * time.Millisecond) // senders fail meanwhile
			if err := srv.start(); err != nil {
				killerDone <- err
				return
			}
		}
		killerDone <- nil
	}()
	wg.Wait()
	if err := <-killerDone; err != nil {
		return false, err
	}
	if err, _ := sendErr.Load().(error); err != nil {
		return false, err
	}
	ingest := time.Since(start)

	// The totals, read back through the API.
	want := map[string]bool{}
	fullTime := map[string]bool{}
	for _, it := range items {
		want[it.EventID] = true
		if it.FullTime != nil {
			fullTime[it.EventID] = true
		}
	}
	var lost, doubled, formsMissing int
	seen := map[string]int{}
	recordOf := map[string]string{}
	for _, c := range cadres {
		st, ans, err := cl.Do(ctx, "GET", "/v1/cadres/"+c+"/records?limit=1000", o.hrKey, nil, nil)
		if err != nil || st != 200 {
			return false, fmt.Errorf("GET records: %d %v", st, err)
		}
		var out struct {
			Records []struct {
				RecordID   string `json:"record_id"`
				ExternalID string `json:"external_id"`
			} `json:"records"`
		}
		if err := json.Unmarshal(ans, &out); err != nil {
			return false, err
		}
		for _, r := range out.Records {
			seen[r.ExternalID]++
			recordOf[r.ExternalID] = r.RecordID
		}
	}
	for id := range want {
		switch n := seen[id]; {
		case n == 0:
			lost++
		case n > 1:
			doubled += n - 1
		}
	}
	// Form entries catch up once the feed has resumed: poll until all are there (or 60 s).
	catchUp := time.Now()
	for {
		formsMissing = 0
		for _, c := range cadres {
			st, ans, err := cl.Do(ctx, "GET", "/v1/cadres/"+c+"/appraisal-records?year=2026", o.hrKey, nil, nil)
			if err != nil || st != 200 {
				return false, fmt.Errorf("GET appraisal-records: %d %v", st, err)
			}
			var out struct {
				Entries []struct {
					RecordID string `json:"record_id"`
				} `json:"entries"`
			}
			if err := json.Unmarshal(ans, &out); err != nil {
				return false, err
			}
			have := map[string]bool{}
			for _, e := range out.Entries {
				have[e.RecordID] = true
			}
			for id := range fullTime {
				if cadreOf(items, id) == c && !have[recordOf[id]] {
					formsMissing++
				}
			}
		}
		if formsMissing == 0 || time.Since(catchUp) > 60*time.Second {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	fmt.Printf("sent %d completions in %d batches from %d senders; %d acknowledged, %d retried requests, %d SIGKILLs; ingest %.1fs\n",
		len(items), len(batches), o.senders, acked.Load(), retries.Load(), o.kills, ingest.Seconds())
	fmt.Printf("lost %d, doubled %d, forms missing %d (form entries caught up %.1fs after the ingest)\n",
		lost, doubled, formsMissing, time.Since(catchUp).Seconds())
	ok := lost == 0 && doubled == 0 && formsMissing == 0
	if !ok {
		keep = true
		fmt.Printf("kept the data dir and the server's log for a look: %s\n", dir)
	}
	return ok, nil
}

var cadreIndex map[string]string

func cadreOf(items []item, eventID string) string {
	if cadreIndex == nil {
		cadreIndex = make(map[string]string, len(items))
		for _, it := range items {
			cadreIndex[it.EventID] = it.CadreID
		}
	}
	return cadreIndex[eventID]
}
