package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/cmd/internal/apiclient/apitest"
	"github.com/cadre-training/cadretrain/shared/training"
)

// The whole demo against the local server (in process, embedded store, the repo's template and
// demo configuration), twice: the second run replays.
func TestDemoAgainstLocalServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the local server")
	}
	url, cfgPath := apitest.StartLocalServer(t, 0)

	ds := Generate(training.Today(time.Now()))
	n := len(ds.SelfStudy) + len(ds.Completions) + len(ds.Single)
	for i, want := range []string{fmt.Sprintf("(%d created, 0 replayed", n), fmt.Sprintf("(0 created, %d replayed", n)} {
		var out, errb bytes.Buffer
		if code := run([]string{"-url", url, "-config", cfgPath}, &out, &errb); code != 0 {
			t.Fatalf("run %d: exit %d: %s\n%s", i+1, code, errb.String(), out.String())
		}
		s := out.String()
		for _, w := range []string{want, "Stored snapshots and form entries are current", "干部任免审批表", "withdrawn (误报",
			"2025.03—2025.04 在", "年度考核登记表", "cn/sc/chengdu/xinfang"} {
			if !strings.Contains(s, w) {
				t.Errorf("run %d: output lacks %q:\n%s", i+1, w, s)
			}
		}
	}
}

func TestDemoServerUnreachable(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"-url", "http://127.0.0.1:1", "-config", filepath.Join("..", "..", "config", "demo.json")}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "start it with make run") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}
