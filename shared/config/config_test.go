package config_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/cadre-training/cadretrain/shared/config"
)

var (
	oldSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("old-secret-old-secret-old-secret"))
	newSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("new-secret-new-secret-new-secret"))
)

func mustParse(tb testing.TB, doc string) *config.Config {
	tb.Helper()
	c, err := config.Parse([]byte(doc))
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return c
}

func testConfig(tb testing.TB) *config.Config {
	sum := sha256.Sum256([]byte("hashed-admin-key"))
	return mustParse(tb, fmt.Sprintf(`{
	  "platforms": {"elearn": {"secrets": [%q, %q]}},
	  "api_keys": [
	    {"key": "hr-cq-key-0123456789abcdef0123456", "role": "hr", "units": ["cn/cq"]},
	    {"key_sha256": %q, "role": "admin", "units": [""]}
	  ]}`, oldSecret, newSecret, hex.EncodeToString(sum[:])))
}

func TestParseRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"UnknownField":     `{"platforms": {}, "api_keys": [], "extra": 1}`,
		"SecretPrefix":     `{"platforms": {"p": {"secrets": ["abc"]}}}`,
		"SecretNotBase64":  `{"platforms": {"p": {"secrets": ["whsec_***"]}}}`,
		"NoSecrets":        `{"platforms": {"p": {"secrets": []}}}`,
		"BadRole":          `{"api_keys": [{"key": "0123456789abcdef0123456789abcdef", "role": "root", "units": ["cn"]}]}`,
		"NoUnits":          `{"api_keys": [{"key": "0123456789abcdef0123456789abcdef", "role": "hr"}]}`,
		"KeyAndHash":       `{"api_keys": [{"key": "0123456789abcdef0123456789abcdef", "key_sha256": "00", "role": "hr", "units": ["cn"]}]}`,
		"HashNotHex":       `{"api_keys": [{"key_sha256": "zz", "role": "hr", "units": ["cn"]}]}`,
		"NoKey":            `{"api_keys": [{"role": "hr", "units": ["cn"]}]}`,
		"RepeatedKey":      `{"api_keys": [{"key": "0123456789abcdef0123456789abcdef", "role": "hr", "units": ["cn"]}, {"key": "0123456789abcdef0123456789abcdef", "role": "admin", "units": ["cn"]}]}`,
		"NotJSON":          `{`,
		"HashWrongLength":  `{"api_keys": [{"key_sha256": "abcd", "role": "hr", "units": ["cn"]}]}`,
		"PlatformNoSecret": `{"platforms": {"p": {}}}`,
		"OriginWildcard":   `{"cors_origins": ["*"]}`,
		"OriginWithPath":   `{"cors_origins": ["https://hr.example.gov.cn/"]}`,
		"OriginNoScheme":   `{"cors_origins": ["hr.example.gov.cn"]}`,
		"OriginUpperCase":  `{"cors_origins": ["https://HR.example.gov.cn"]}`,
		"OriginFTP":        `{"cors_origins": ["ftp://hr.example.gov.cn"]}`,
		"ShortCertKey":     `{"certificate_key": "0123456789abcdef0123456789abcde"}`,
		// A webhook secret or a plain API key under 32 bytes stops start-up.
		"ShortAPIKey": `{"api_keys": [{"key": "0123456789abcdef0123456789abcde", "role": "hr", "units": ["cn"]}]}`,
		"ShortSecret": `{"platforms": {"p": {"secrets": ["whsec_c2hvcnQtc2VjcmV0"]}}}`,
		"EmptySecret": `{"platforms": {"p": {"secrets": ["whsec_"]}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := config.Parse([]byte(doc)); err == nil {
				t.Fatalf("Parse(%s) succeeded, want an error", doc)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	c := testConfig(t)
	t.Run("PlainKeyHashed", func(t *testing.T) {
		k := c.Authenticate("hr-cq-key-0123456789abcdef0123456")
		if k == nil {
			t.Fatal("hr-cq not authenticated")
		}
		if got, want := k.Role, config.RoleHR; got != want {
			t.Fatalf("role=%q, want %q", got, want)
		}
		sum := sha256.Sum256([]byte("hr-cq-key-0123456789abcdef0123456"))
		if got, want := k.ID, hex.EncodeToString(sum[:6]); got != want {
			t.Fatalf("ID=%q, want %q (hash prefix, never the key)", got, want)
		}
	})
	t.Run("KeyGivenAsHash", func(t *testing.T) {
		if k := c.Authenticate("hashed-admin-key"); k == nil || k.Role != config.RoleAdmin {
			t.Fatalf("admin key by hash: got %+v", k)
		}
	})
	t.Run("Unknown", func(t *testing.T) {
		for _, tok := range []string{"", "HR-CQ-KEY-0123456789ABCDEF0123456", "hr-cq-key-0123456789abcdef0123456 ", "nope"} {
			if k := c.Authenticate(tok); k != nil {
				t.Fatalf("Authenticate(%q) = %+v, want nil", tok, k)
			}
		}
	})
	t.Run("Roles", func(t *testing.T) {
		hr, admin := c.Authenticate("hr-cq-key-0123456789abcdef0123456"), c.Authenticate("hashed-admin-key")
		if hr.Allows(config.RoleAdmin) || !hr.Allows(config.RoleHR) || !admin.Allows(config.RoleHR) || !admin.Allows(config.RoleAdmin) {
			t.Fatal("role order wrong: want hr < admin")
		}
	})
	t.Run("UnitsBySegment", func(t *testing.T) {
		hr := c.Authenticate("hr-cq-key-0123456789abcdef0123456")
		for unit, want := range map[string]bool{"cn/cq": true, "cn/cq/yuzhong": true, "cn/cqx": false, "cn": false, "cn/sc": false} {
			if got := hr.Sees(unit); got != want {
				t.Fatalf("Sees(%q)=%v, want %v", unit, got, want)
			}
		}
		if !c.Authenticate("hashed-admin-key").Sees("anything/at/all") {
			t.Fatal(`units [""] must see every unit`)
		}
	})
}

func signedHeaders(tb testing.TB, secret, id string, ts time.Time, body []byte) http.Header {
	tb.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		tb.Fatal(err)
	}
	sig, err := wh.Sign(id, ts, body)
	if err != nil {
		tb.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("webhook-signature", sig)
	return h
}

// docs/api.md “Authentication”: Standard Webhooks signatures, rotation, ±300 s.
func TestVerifyWebhook(t *testing.T) {
	c := testConfig(t)
	body := []byte(`{"event_id":"evt-1"}`)
	now := time.Now()
	other := "whsec_" + base64.StdEncoding.EncodeToString([]byte("someone-else-entirely-0000000000"))
	tests := []struct {
		name    string
		headers http.Header
		body    []byte
		ok      bool
	}{
		{"OldSecret", signedHeaders(t, oldSecret, "msg_1", now, body), body, true},
		{"NewSecret", signedHeaders(t, newSecret, "msg_1", now, body), body, true},
		{"WrongSecret", signedHeaders(t, other, "msg_1", now, body), body, false},
		{"TamperedBody", signedHeaders(t, oldSecret, "msg_1", now, body), []byte(`{"event_id":"evt-2"}`), false},
		{"Stale301s", signedHeaders(t, oldSecret, "msg_1", now.Add(-301*time.Second), body), body, false},
		{"Future301s", signedHeaders(t, oldSecret, "msg_1", now.Add(301*time.Second), body), body, false},
		{"Within290s", signedHeaders(t, oldSecret, "msg_1", now.Add(-290*time.Second), body), body, true},
		{"NoHeaders", http.Header{}, body, false},
		{"SeveralSignaturesOneMatches", func() http.Header {
			h := signedHeaders(t, newSecret, "msg_1", now, body)
			bad := signedHeaders(t, other, "msg_1", now, body)
			h.Set("webhook-signature", bad.Get("webhook-signature")+" "+h.Get("webhook-signature"))
			return h
		}(), body, true},
		// As the Lambda functions' API Gateway adapter delivers it: every value split at its commas.
		{"SignatureSplitAtCommas", func() http.Header {
			h := signedHeaders(t, newSecret, "msg_1", now, body)
			bad := signedHeaders(t, other, "msg_1", now, body)
			h.Del("webhook-signature")
			for _, v := range strings.Split(bad.Get("webhook-signature")+" "+signedHeaders(t, newSecret, "msg_1", now, body).Get("webhook-signature"), ",") {
				h.Add("webhook-signature", v)
			}
			return h
		}(), body, true},
		{"SignatureForOtherID", func() http.Header {
			h := signedHeaders(t, oldSecret, "msg_1", now, body)
			h.Set("webhook-id", "msg_2")
			return h
		}(), body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.VerifyWebhook("elearn", tt.body, tt.headers)
			if got := err == nil; got != tt.ok {
				t.Fatalf("VerifyWebhook ok=%v (err %v), want ok=%v", got, err, tt.ok)
			}
			if err != nil && !errors.Is(err, config.ErrBadSignature) {
				t.Fatalf("err=%v, want ErrBadSignature", err)
			}
		})
	}
	t.Run("UnknownPlatform", func(t *testing.T) {
		err := c.VerifyWebhook("nope", body, signedHeaders(t, oldSecret, "m", now, body))
		if !errors.Is(err, config.ErrUnknownPlatform) {
			t.Fatalf("err=%v, want ErrUnknownPlatform", err)
		}
	})
	if got := strings.Join(c.Platforms(), ","); got != "elearn" {
		t.Fatalf("Platforms()=%q", got)
	}
}

// docs/api.md “Certificates”: the certificate key is at least 32 bytes, and optional.
func TestCertificateKey(t *testing.T) {
	key := "0123456789abcdef0123456789abcdef"
	if got := mustParse(t, `{"certificate_key": "`+key+`"}`).CertificateKey(); string(got) != key {
		t.Errorf("CertificateKey = %q", got)
	}
	if got := mustParse(t, `{}`).CertificateKey(); got != nil {
		t.Errorf("CertificateKey without one = %q, want nil", got)
	}
}

func TestShippedDemoConfigParses(t *testing.T) {
	c, err := config.LoadFile("../../config/demo.json")
	if err != nil {
		t.Fatal(err)
	}
	if c.Authenticate("demo-admin-key-not-for-production") == nil || c.Authenticate("demo-hr-key-cq-not-for-production") == nil {
		t.Fatal("demo keys missing")
	}
}

// cors_origins: exactly the named origins, compared as browsers send them.
func TestAllowsOrigin(t *testing.T) {
	c, err := config.Parse([]byte(`{"cors_origins": ["https://hr.example.gov.cn", "http://localhost:5173"]}`))
	if err != nil {
		t.Fatal(err)
	}
	for origin, want := range map[string]bool{
		"https://hr.example.gov.cn":      true,
		"http://localhost:5173":          true,
		"http://hr.example.gov.cn":       false, // another scheme is another origin
		"https://hr.example.gov.cn:8443": false,
		"https://evil.example.com":       false,
		"":                               false,
		"null":                           false,
	} {
		if got := c.AllowsOrigin(origin); got != want {
			t.Errorf("AllowsOrigin(%q) = %v, want %v", origin, got, want)
		}
	}
}
