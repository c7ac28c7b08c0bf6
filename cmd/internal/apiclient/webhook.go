package apiclient

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// WebhookHeaders returns the three Standard Webhooks headers (standardwebhooks.com) for body sent
// as message id at time at, with one signature per signer, space-separated (as a platform signs
// during a secret rotation).
func WebhookHeaders(id string, at time.Time, body []byte, signers ...*standardwebhooks.Webhook) (http.Header, error) {
	sigs := make([]string, 0, len(signers))
	for _, wh := range signers {
		sig, err := wh.Sign(id, at, body)
		if err != nil {
			return nil, err
		}
		sigs = append(sigs, sig)
	}
	h := http.Header{}
	h.Set(standardwebhooks.HeaderWebhookID, id)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, fmt.Sprint(at.Unix()))
	h.Set(standardwebhooks.HeaderWebhookSignature, strings.Join(sigs, " "))
	return h, nil
}

// PlatformHeaders returns the Standard Webhooks headers for body sent now as message msgID by a
// platform that rotates its secrets: it signs with secret number which, modulo their count.
func PlatformHeaders(secrets []string, which int, msgID string, body []byte) (http.Header, error) {
	wh, err := standardwebhooks.NewWebhook(secrets[which%len(secrets)])
	if err != nil {
		return nil, fmt.Errorf("platform secret: %w", err)
	}
	return WebhookHeaders(msgID, time.Now(), body, wh)
}
