package apiclient

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDefaultConfig(t *testing.T) {
	t.Setenv("CADRE_CONFIG", "")
	if got := DefaultConfig(); got != "config/demo.json" {
		t.Errorf("without CADRE_CONFIG: %q", got)
	}
	t.Setenv("CADRE_CONFIG", "/etc/cadre.json")
	if got := DefaultConfig(); got != "/etc/cadre.json" {
		t.Errorf("with CADRE_CONFIG: %q", got)
	}
}

func writeFile(t *testing.T, doc string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPlatformSecrets(t *testing.T) {
	p := writeFile(t, `{"platforms": {"a": {"secrets": ["whsec_1", "whsec_2"]}, "empty": {"secrets": []}}, "api_keys": []}`)
	got, err := PlatformSecrets(p, "a")
	if err != nil || !reflect.DeepEqual(got, []string{"whsec_1", "whsec_2"}) {
		t.Fatalf("got %q, %v", got, err)
	}
	for _, platform := range []string{"empty", "nope"} {
		_, err := PlatformSecrets(p, platform)
		want := "configuration " + p + ` has no secrets for platform "` + platform + `"`
		if err == nil || err.Error() != want {
			t.Errorf("%s: error %v, want %s", platform, err, want)
		}
	}
}

func TestPlatformSecretsUnreadable(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.json")
	_, err := PlatformSecrets(missing, "a")
	if err == nil || !errors.Is(err, fs.ErrNotExist) ||
		!strings.HasPrefix(err.Error(), "the platform secrets come from the configuration: ") ||
		!strings.HasSuffix(err.Error(), " (use -config)") {
		t.Fatalf("error %v", err)
	}
}

func TestPlatformSecretsUndecodable(t *testing.T) {
	for _, doc := range []string{`{`, `{"platforms": []}`, `{"platforms": {"a": {"secrets": "whsec_1"}}}`} {
		p := writeFile(t, doc)
		_, err := PlatformSecrets(p, "a")
		if err == nil || !strings.HasPrefix(err.Error(), "configuration "+p+": ") {
			t.Errorf("%s: error %v", doc, err)
		}
	}
}

func TestParseSecrets(t *testing.T) {
	got, err := ParseSecrets("x.json", []byte(`{"platforms": {"a": {"secrets": ["s1"]}, "b": {}}, "other": 1}`))
	if err != nil || !reflect.DeepEqual(got, map[string][]string{"a": {"s1"}, "b": nil}) {
		t.Fatalf("got %q, %v", got, err)
	}
	if got, err := ParseSecrets("x.json", []byte(`{}`)); err != nil || len(got) != 0 {
		t.Fatalf("no platforms: %q, %v", got, err)
	}
	if _, err := ParseSecrets("x.json", []byte(`nope`)); err == nil || !strings.HasPrefix(err.Error(), "configuration x.json: ") {
		t.Fatalf("error %v", err)
	}
}
