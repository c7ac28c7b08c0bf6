package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cadre-training/cadretrain/shared/bolt"
	"github.com/cadre-training/cadretrain/shared/training"
)

// TestImportCommand: issue 12 item 3 — the built binary generates input, imports it into a temp
// data dir (progress as plain lines on a non-terminal stderr, the counts on stdout), imports it
// again without duplicating anything, and refuses to run while another process holds the store.
func TestImportCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "cadred")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	in, data := t.TempDir(), t.TempDir()
	run := func(args ...string) (string, string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = filepath.Join("..", "..")
		cmd.Env = append(os.Environ(), "CADRE_CONFIG=", "DYNAMODB_ENDPOINT=", "CADRE_OVERLAYS=")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}
	if out, errs, err := run("import", "-generate", in, "-cadres", "30", "-records", "4"); err != nil {
		t.Fatalf("generate: %v\n%s%s", err, out, errs)
	}
	cadres, records := filepath.Join(in, "cadres.csv"), filepath.Join(in, "records.csv")
	out, errs, err := run("import", "-data-dir", data, "-source", "hist", "-batch", "40", cadres, records)
	if err != nil {
		t.Fatalf("import: %v\n%s%s", err, out, errs)
	}
	if !strings.Contains(out, "150 rows: 150 imported, 0 already imported, 0 rejected") {
		t.Errorf("stdout %q", out)
	}
	if !strings.Contains(errs, "import: 150/150 rows (100.0%)") || strings.Contains(errs, "\r") {
		t.Errorf("stderr has no plain progress line: %q", errs)
	}
	// Another file with the same rows (a new input, so no checkpoint applies): all already there.
	again := filepath.Join(in, "again.csv")
	b, _ := os.ReadFile(records)
	if err := os.WriteFile(again, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, err = run("import", "-data-dir", data, "-source", "hist", cadres, again)
	if err != nil || !strings.Contains(out, "120 already imported, 0 rejected") {
		t.Fatalf("re-import: %v\n%s%s", err, out, errs)
	}

	s, err := bolt.Open(filepath.Join(data, "cadretrain.db"))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := s.ListRecords(context.Background(), "k0000007")
	if err != nil || len(rs) != 4 || rs[0].Source != "import/hist" {
		t.Errorf("k0000007's records: %+v, %v", rs, err)
	}
	if _, err := s.GetSnapshot(context.Background(), "k0000007"); err != nil {
		t.Errorf("no status for k0000007: %v", err)
	}
	fe, _ := s.ListFormEntries(context.Background(), "k0000007", training.FormAppraisal)
	if len(fe) != 2 {
		t.Errorf("k0000007 has %d appraisal entries, want 2 (docs/rules.md §4)", len(fe))
	}
	// While this process holds the store, as a running server would, the import refuses to run.
	_, errs, err = run("import", "-data-dir", data, cadres)
	s.Close()
	if err == nil || !strings.Contains(errs, "locked by another process") {
		t.Errorf("import beside a holder of the store: %v\n%s", err, errs)
	}
}
