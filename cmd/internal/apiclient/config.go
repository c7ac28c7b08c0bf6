package apiclient

import (
	"encoding/json"
	"fmt"
	"os"
)

// DefaultConfig is the configuration file a command reads when -config is not given:
// $CADRE_CONFIG, or config/demo.json.
func DefaultConfig() string {
	if p := os.Getenv("CADRE_CONFIG"); p != "" {
		return p
	}
	return "config/demo.json"
}

// PlatformSecrets returns the webhook secrets of platform from the configuration file at path.
// It is an error if the file cannot be read or decoded, or if it has no secrets for platform.
func PlatformSecrets(path, platform string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("the platform secrets come from the configuration: %w (use -config)", err)
	}
	secrets, err := ParseSecrets(path, b)
	if err != nil {
		return nil, err
	}
	if len(secrets[platform]) == 0 {
		return nil, fmt.Errorf("configuration %s has no secrets for platform %q", path, platform)
	}
	return secrets[platform], nil
}

// ParseSecrets decodes the platforms' webhook secrets (platform id → secrets) from doc, the
// configuration document ({"platforms": {"<id>": {"secrets": [...]}}, ...}) read from path, which
// only names it in the error.
func ParseSecrets(path string, doc []byte) (map[string][]string, error) {
	var d struct {
		Platforms map[string]struct {
			Secrets []string `json:"secrets"`
		} `json:"platforms"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("configuration %s: %w", path, err)
	}
	secrets := make(map[string][]string, len(d.Platforms))
	for id, p := range d.Platforms {
		secrets[id] = p.Secrets
	}
	return secrets, nil
}
