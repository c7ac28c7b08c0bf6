package apiclient

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Two platform secrets, as during a rotation.
var (
	oldSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("apiclient-test-secret-old-000001"))
	newSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("apiclient-test-secret-new-000002"))
)

// signers are the Standard Webhooks signers (and verifiers) of secrets.
func signers(t *testing.T, secrets ...string) []*standardwebhooks.Webhook {
	t.Helper()
	var whs []*standardwebhooks.Webhook
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		whs = append(whs, wh)
	}
	return whs
}

func TestWebhookHeaders(t *testing.T) {
	body := []byte(`{"completions":[]}`)
	at := time.Now()
	h, err := WebhookHeaders("msg_1", at, body, signers(t, oldSecret, newSecret)...)
	if err != nil {
		t.Fatal(err)
	}
	if h.Get("webhook-id") != "msg_1" || h.Get("webhook-timestamp") != strconv.FormatInt(at.Unix(), 10) {
		t.Errorf("headers %v", h)
	}
	if n := len(strings.Fields(h.Get("webhook-signature"))); n != 2 {
		t.Errorf("%d signatures: %q", n, h.Get("webhook-signature"))
	}
	for _, s := range []string{oldSecret, newSecret} {
		if err := signers(t, s)[0].Verify(body, h); err != nil {
			t.Errorf("verify with %s: %v", s, err)
		}
	}
	if err := signers(t, oldSecret)[0].Verify(append(body, ' '), h); err == nil {
		t.Error("verified a changed body")
	}
}

// The platform rotates: request number which is signed with secret which mod n, and only that one.
func TestPlatformHeadersRotates(t *testing.T) {
	secrets := []string{oldSecret, newSecret}
	body := []byte(`{"event_id":"evt-1"}`)
	for which, want := range []string{oldSecret, newSecret, oldSecret, newSecret} {
		h, err := PlatformHeaders(secrets, which, "msg_r", body)
		if err != nil {
			t.Fatal(err)
		}
		if h.Get("webhook-id") != "msg_r" || len(strings.Fields(h.Get("webhook-signature"))) != 1 {
			t.Fatalf("headers %v", h)
		}
		for _, s := range secrets {
			err := signers(t, s)[0].Verify(body, h) // also checks the timestamp is now
			if (err == nil) != (s == want) {
				t.Errorf("which %d, verify with %s: %v", which, s, err)
			}
		}
	}
}

func TestPlatformHeadersBadSecret(t *testing.T) {
	_, err := PlatformHeaders([]string{oldSecret, "whsec_!!!"}, 3, "msg", nil)
	if err == nil || !strings.HasPrefix(err.Error(), "platform secret: ") {
		t.Fatalf("error %v", err)
	}
}
