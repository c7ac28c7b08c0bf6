package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cadre-training/cadretrain/shared/bolt"
	"github.com/cadre-training/cadretrain/shared/storetest"
	"github.com/cadre-training/cadretrain/shared/training"
)

// TestStoreOps: issue 11 item 2 and issue 12 item 2 — cadred -check reports a healthy file as
// such and an empty one as an error naming it; cadred compact swaps in a compacted copy that
// holds the same records and keeps the original.
func TestStoreOps(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	path := filepath.Join(dir, "cadretrain.db")
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 50 {
		r := storetest.MustCreateRecord(t, s, storetest.NewRecord(fmt.Sprintf("c%d", i%5), "platform/a", fmt.Sprint(i), training.MustDate("2025-02-28")))
		ids = append(ids, r.ID)
	}
	s.Close()

	if err := checkStore(log, []string{"-data-dir", dir}); err != nil {
		t.Fatalf("cadred -check of a healthy store: %v", err)
	}
	if err := compactStore(log, []string{"-data-dir", dir}); err != nil {
		t.Fatalf("cadred compact: %v", err)
	}
	if _, err := os.Stat(path + ".before-compact"); err != nil {
		t.Fatalf("the original was not kept: %v", err)
	}
	if err := compactStore(log, []string{"-data-dir", dir}); err == nil || !strings.Contains(err.Error(), "before-compact") {
		t.Fatalf("a second compact over the kept original: %v", err)
	}
	s, err = bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, err := s.GetRecord(context.Background(), id); err != nil {
			t.Fatalf("record %s after compact: %v", id, err)
		}
	}
	s.Close()

	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "cadretrain.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkStore(log, []string{"-data-dir", empty}); err == nil || !strings.Contains(err.Error(), "empty (0 bytes)") {
		t.Fatalf("cadred -check of an empty file: %v", err)
	}
}
