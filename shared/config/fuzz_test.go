package config_test

import (
	"net/http"
	"testing"

	"github.com/cadre-training/cadretrain/shared/config"
)

// FuzzParse: any document either parses or is an error; it never panics, and a parsed one
// authenticates no empty token.
func FuzzParse(f *testing.F) {
	f.Add(`{"platforms": {"p": {"secrets": ["whsec_ZGVtby1wbGF0Zm9ybS1zZWNyZXQtMDAwMS1yb3RhdGU="]}}, "api_keys": [{"key": "k", "role": "hr", "units": ["cn"]}]}`)
	f.Add(`{"api_keys": [{"key_sha256": "00", "role": "admin", "units": [""]}]}`)
	f.Add(`{"platforms": {"": {"secrets": []}}}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, doc string) {
		c, err := config.Parse([]byte(doc))
		if err != nil {
			return
		}
		if c.Authenticate("") != nil {
			t.Fatal("an empty token authenticated")
		}
	})
}

// FuzzVerifyWebhook: no header or body makes the verifier panic or accept a signature that was
// not made with the platform's secret.
func FuzzVerifyWebhook(f *testing.F) {
	c, err := config.Parse([]byte(`{"platforms": {"p": {"secrets": ["whsec_ZGVtby1wbGF0Zm9ybS1zZWNyZXQtMDAwMS1yb3RhdGU="]}}, "api_keys": []}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Add("msg_1", "1700000000", "v1,AAAA", []byte(`{}`))
	f.Add("", "", "", []byte(nil))
	f.Add("msg_1", "99999999999999999999", "v1,"+string(make([]byte, 64)), []byte(`{"a":1}`))
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", sig)
		if err := c.VerifyWebhook("p", body, h); err == nil {
			t.Fatalf("accepted id=%q ts=%q sig=%q", id, ts, sig)
		}
	})
}
