package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// TestBinaryServesAndShutsDownGracefully builds cadred, runs it from the repository root with
// its defaults (template.yaml, config/demo.json; PORT and CADRE_DATA_DIR from the environment),
// writes a profile, stops it with SIGTERM, expects a clean exit with JSON request logs, and finds
// the profile again after a restart on the same data dir.
func TestBinaryServesAndShutsDownGracefully(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "cadred")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dataDir := t.TempDir()
	run := func(check func(base string)) string {
		port := freePort(t)
		cmd := exec.Command(bin)
		cmd.Dir = filepath.Join("..", "..")
		cmd.Env = append(os.Environ(), "PORT="+port, "CADRE_DATA_DIR="+dataDir, "CADRE_CONFIG=", "DYNAMODB_ENDPOINT=")
		var logs bytes.Buffer
		cmd.Stderr, cmd.Stdout = &logs, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		base := "http://127.0.0.1:" + port
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := http.Get(base + "/v1/health")
			if err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("cadred did not come up: %v\n%s", err, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		check(base)
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("cadred exited with %v after SIGTERM\n%s", err, logs.String())
		}
		return logs.String()
	}
	put := func(base string) {
		req, _ := http.NewRequest("PUT", base+"/v1/cadres/c-bin", strings.NewReader(`{"name":"张三","unit":"cn/cq/a","rank":"clerk"}`))
		req.Header.Set("Authorization", "Bearer demo-hr-key-cq-not-for-production")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Errorf("PUT: %d, want 201", resp.StatusCode)
		}
	}
	logs := run(put)
	var sawRequest bool
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("log line is not JSON: %s", line)
			continue
		}
		if m["msg"] == "request" && m["method"] == "PUT" && m["path"] == "/v1/cadres/c-bin" && m["route"] == "PUT /v1/cadres/{cadre_id}" &&
			m["status"] == float64(201) && m["latency_ms"] != nil && m["request_id"] != nil && strings.HasPrefix(fmt.Sprint(m["caller"]), "key:") {
			sawRequest = true
		}
	}
	if !sawRequest {
		t.Errorf("no request log line with request id, method, path, route, status, latency and caller:\n%s", logs)
	}
	if strings.Contains(logs, "demo-hr-key-cq-not-for-production") {
		t.Errorf("an API key was logged:\n%s", logs)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "cadretrain.db")); err != nil {
		t.Errorf("the embedded store is not in the data dir: %v", err)
	}
	run(func(base string) {
		req, _ := http.NewRequest("GET", base+"/v1/cadres/c-bin", nil)
		req.Header.Set("Authorization", "Bearer demo-hr-key-cq-not-for-production")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET after restart: %d, want 200", resp.StatusCode)
		}
	})
}
