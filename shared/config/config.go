// Package config holds the deployment configuration: the e-learning platforms with their webhook
// signing secrets, and the API keys of HR systems and operators (stored only as SHA-256 hashes).
//
// The document (docs/api.md “Configuration”):
//
//	{"platforms": {"<platform_id>": {"secrets": ["whsec_..."]}},
//	 "api_keys": [{"key": "...", "role": "hr", "units": ["cn/cq"]}],
//	 "cors_origins": ["https://hr.example.gov.cn"]}
//
// `key` may be given as `key_sha256` (hex) instead. Locally it comes from the file named by
// CADRE_CONFIG; in AWS from a Secrets Manager secret (see shared/awsboot).
package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/cadre-training/cadretrain/shared/training"
)

// Roles, lowest first.
const (
	RoleHR    = "hr"
	RoleAdmin = "admin"
)

var roleRank = map[string]int{RoleHR: 1, RoleAdmin: 2}

// Config is the parsed configuration. Build it with Parse or LoadFile.
type Config struct {
	platforms map[string][]*standardwebhooks.Webhook
	keys      map[[32]byte]*APIKey
	origins   map[string]bool
	certKey   []byte
}

// MinSecretBytes is the shortest webhook secret (decoded; training.CheckWebhookSecret) and plain API
// key accepted: a weak configuration stops start-up instead of serving with a guessable secret.
const MinSecretBytes = training.MinSecretBytes

// MinCertificateKeyBytes is the shortest certificate_key accepted (HMAC-SHA256 wants a key of at
// least its output size).
const MinCertificateKeyBytes = 32

// CertificateKey is the key that MACs 学时证明 (docs/api.md “Certificates”); nil when the document
// has no certificate_key.
func (c *Config) CertificateKey() []byte { return c.certKey }

// APIKey is one HR system's or operator's key, known by its hash.
type APIKey struct {
	// ID is a short public identifier of the key (the first 12 hex digits of its hash); it scopes
	// idempotency keys and is logged as the actor.
	ID    string
	Role  string
	Units []string
}

// Allows reports whether the key's role is at least role.
func (k *APIKey) Allows(role string) bool { return roleRank[k.Role] >= roleRank[role] }

// Sees reports whether unit lies in one of the key's unit subtrees.
func (k *APIKey) Sees(unit string) bool {
	for _, u := range k.Units {
		if training.InUnit(unit, u) {
			return true
		}
	}
	return false
}

type document struct {
	Platforms map[string]struct {
		Secrets []string `json:"secrets"`
	} `json:"platforms"`
	APIKeys []struct {
		Key       string   `json:"key"`
		KeySHA256 string   `json:"key_sha256"`
		Role      string   `json:"role"`
		Units     []string `json:"units"`
	} `json:"api_keys"`
	// CORSOrigins are the browser origins (scheme://host[:port]) allowed to call the API.
	CORSOrigins    []string `json:"cors_origins"`
	CertificateKey string   `json:"certificate_key"`
}

// Parse reads and checks a configuration document. Plain keys are hashed at once and not kept.
func Parse(b []byte) (*Config, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var doc document
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c := &Config{platforms: map[string][]*standardwebhooks.Webhook{}, keys: map[[32]byte]*APIKey{}}
	if doc.CertificateKey != "" {
		if len(doc.CertificateKey) < MinCertificateKeyBytes {
			return nil, fmt.Errorf("config: certificate_key must be at least %d bytes", MinCertificateKeyBytes)
		}
		c.certKey = []byte(doc.CertificateKey)
	}
	for id, p := range doc.Platforms {
		if id == "" || len(p.Secrets) == 0 {
			return nil, fmt.Errorf("config: platform %q needs at least one secret", id)
		}
		for i, s := range p.Secrets {
			if msg := training.CheckWebhookSecret(s); msg != "" {
				return nil, fmt.Errorf("config: platform %q secret %d %s", id, i, msg)
			}
			wh, err := standardwebhooks.NewWebhook(s)
			if err != nil {
				return nil, fmt.Errorf("config: platform %q secret %d: not base64", id, i)
			}
			c.platforms[id] = append(c.platforms[id], wh)
		}
	}
	for i, k := range doc.APIKeys {
		var h [32]byte
		switch {
		case k.Key != "" && k.KeySHA256 != "":
			return nil, fmt.Errorf("config: api_keys[%d]: give key or key_sha256, not both", i)
		case k.Key != "":
			if len(k.Key) < MinSecretBytes {
				return nil, fmt.Errorf("config: api_keys[%d].key has %d bytes; at least %d random bytes are required (make one with: openssl rand -hex 32)", i, len(k.Key), MinSecretBytes)
			}
			h = sha256.Sum256([]byte(k.Key))
		case k.KeySHA256 != "":
			raw, err := hex.DecodeString(k.KeySHA256)
			if err != nil || len(raw) != 32 {
				return nil, fmt.Errorf("config: api_keys[%d].key_sha256 must be 64 hex digits", i)
			}
			copy(h[:], raw)
		default:
			return nil, fmt.Errorf("config: api_keys[%d] needs key or key_sha256", i)
		}
		if _, ok := roleRank[k.Role]; !ok {
			return nil, fmt.Errorf("config: api_keys[%d].role must be hr or admin", i)
		}
		if len(k.Units) == 0 {
			return nil, fmt.Errorf("config: api_keys[%d].units must list at least one unit prefix", i)
		}
		if _, dup := c.keys[h]; dup {
			return nil, fmt.Errorf("config: api_keys[%d] repeats a key", i)
		}
		c.keys[h] = &APIKey{ID: hex.EncodeToString(h[:6]), Role: k.Role, Units: k.Units}
	}
	c.origins = map[string]bool{}
	for i, o := range doc.CORSOrigins {
		if msg := checkOrigin(o); msg != "" {
			return nil, fmt.Errorf("config: cors_origins[%d] %q %s", i, o, msg)
		}
		c.origins[o] = true
	}
	return c, nil
}

// checkOrigin says what is wrong with a configured CORS origin, "" if nothing. An origin is
// exactly what a browser sends in the Origin header: scheme, host and optional port, lower case,
// no path and no trailing slash. "*" is refused: every allowed origin is named.
func checkOrigin(o string) string {
	u, err := url.Parse(o)
	switch {
	case o == "*":
		return "is a wildcard; name each origin"
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return "must be an origin like https://hr.example.gov.cn"
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return "must be an origin only (scheme://host[:port]), without path, query or trailing slash"
	case o != strings.ToLower(o):
		return "must be lower case, as browsers send it"
	}
	return ""
}

// AllowsOrigin reports whether a browser page from origin may call the API (cors_origins).
func (c *Config) AllowsOrigin(origin string) bool { return c.origins[origin] }

// LoadFile reads the configuration from a file.
func LoadFile(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(b)
}

// Authenticate returns the key for a bearer token, or nil. Tokens are compared by their SHA-256
// hash, so the lookup never touches a plain key and its timing reveals nothing about stored keys.
func (c *Config) Authenticate(token string) *APIKey {
	if token == "" {
		return nil
	}
	h := sha256.Sum256([]byte(token))
	return c.keys[h]
}

// Platforms lists the configured platform ids, sorted.
func (c *Config) Platforms() []string {
	out := make([]string, 0, len(c.platforms))
	for id := range c.platforms {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Webhook errors.
var (
	ErrUnknownPlatform = errors.New("unknown platform")
	ErrBadSignature    = errors.New("bad or missing webhook signature")
)

// VerifyWebhook checks a Standard Webhooks signature (webhook-id, webhook-timestamp,
// webhook-signature over "<id>.<timestamp>.<body>", HMAC-SHA256, ±300 s clock tolerance) against
// every secret of the platform: during a rotation any match is enough. The library compares in
// constant time.
//
// A header that arrives as several values is read as their comma-joined list (RFC 9110 §5.3):
// the API Gateway adapter of the Lambda functions (aws-lambda-go-api-proxy) splits every header
// value at its commas, so "v1,<signature>" reaches the handler as "v1" and "<signature>".
func (c *Config) VerifyWebhook(platformID string, body []byte, headers http.Header) error {
	hooks, ok := c.platforms[platformID]
	if !ok {
		return ErrUnknownPlatform
	}
	joined := http.Header{}
	for _, k := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
		if vs := headers.Values(k); len(vs) > 0 {
			joined.Set(k, strings.Join(vs, ","))
		}
	}
	headers = joined
	var last error
	for _, wh := range hooks {
		if err := wh.Verify(body, headers); err == nil {
			return nil
		} else {
			last = err
		}
	}
	return fmt.Errorf("%w: %v", ErrBadSignature, last)
}
