package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const goodOverlay = `{"id": "t", "unit": "cn/t", "title": "T", "effective_from": "2023-01-01",
 "source": "illustrative test figures", "illustrative": true, "crediting": {"online_daily_cap_hours": 8}}`

func writeOverlays(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// docs/rules.md “Local crediting overlays”: overlay files are validated at start-up; a bad one
// names the file and the field.
func TestLoadRules(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string // substrings of the error; nil = loads
		n     int
	}{
		{"Embedded", nil, nil, -1},
		{"Good", map[string]string{"t.json": goodOverlay}, nil, 1},
		{"EmptyDirHasNone", map[string]string{"readme.txt": "no overlays"}, nil, 0},
		{"BadField", map[string]string{"t.json": goodOverlay, "bad.json": strings.Replace(goodOverlay, `"online_daily_cap_hours": 8`, `"online_daily_cap_hours": 0`, 1)},
			[]string{"bad.json", "crediting.online_daily_cap_hours"}, 0},
		{"UnknownField", map[string]string{"x.json": strings.Replace(goodOverlay, `"title"`, `"titel"`, 1)}, []string{"x.json", "titel"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := ""
			if tc.files != nil {
				dir = writeOverlays(t, tc.files)
			}
			r, err := loadRules(dir)
			if tc.want != nil {
				if err == nil {
					t.Fatal("loaded a bad overlay")
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not name %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.n >= 0 && len(r.Overlays.All()) != tc.n {
				t.Fatalf("%d overlays, want %d", len(r.Overlays.All()), tc.n)
			}
		})
	}
	if _, err := loadRules(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing overlay directory was accepted")
	}
}

// The server itself refuses to start on a bad overlay, naming file and field (exit status ≠ 0).
func TestBinaryStopsOnBadOverlay(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "cadred")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := writeOverlays(t, map[string]string{"bad.json": strings.Replace(goodOverlay, `"cn/t"`, `"cn//t"`, 1)})
	cmd := exec.Command(bin, "-addr", "127.0.0.1:"+freePort(t), "-data-dir", t.TempDir(), "-overlays", dir)
	cmd.Dir = filepath.Join("..", "..")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Run(); err == nil {
		t.Fatalf("cadred started with a bad overlay:\n%s", logs.String())
	}
	for _, w := range []string{"bad.json", "unit"} {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("log does not name %q:\n%s", w, logs.String())
		}
	}
}
