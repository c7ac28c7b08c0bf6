// Command whsign signs a webhook payload per Standard Webhooks (standardwebhooks.com), the way an
// e-learning platform signs POST /v1/webhooks/completions/{platform_id} (docs/api.md “Authentication”).
//
//	go run ./cmd/whsign -file body.json                     # print curl -H lines for the body
//	go run ./cmd/whsign -file body.json -post http://127.0.0.1:3000/v1/webhooks/completions/elearn-demo
//	echo '{"event_id":…}' | go run ./cmd/whsign -post URL    # body from stdin
//
// The secret defaults to the first secret of -platform in the configuration file (-config, default
// $CADRE_CONFIG or config/demo.json). -secret may be repeated to sign with several secrets (a
// rotation): the webhook-signature header then carries one v1,<base64> value per secret.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/cadre-training/cadretrain/cmd/internal/apiclient"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

type secretList []string

func (s *secretList) String() string     { return strings.Join(*s, ",") }
func (s *secretList) Set(v string) error { *s = append(*s, v); return nil }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("whsign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var secrets secretList
	fs.Var(&secrets, "secret", "signing secret whsec_<base64> (repeatable; default: the first secret of -platform in -config)")
	platform := fs.String("platform", "elearn-demo", "platform whose secret to use when -secret is not given")
	cfgPath := fs.String("config", apiclient.DefaultConfig(), "configuration file with the platforms' secrets")
	id := fs.String("id", "", "webhook-id (default: a random msg_… id)")
	file := fs.String("file", "", "file holding the exact body (default: read stdin)")
	post := fs.String("post", "", "send the signed request to this URL and print the status and response body")
	ts := fs.Int64("timestamp", 0, "webhook-timestamp in unix seconds (default: now)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: whsign [-secret whsec_…] [-platform id] [-config file] [-id msg_…] [-file body.json] [-post URL]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "whsign: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if err := sign(secrets, *platform, *cfgPath, *id, *file, *post, *ts, stdin, stdout); err != nil {
		fmt.Fprintln(stderr, "whsign:", err)
		return 1
	}
	return 0
}

func sign(secrets []string, platform, cfgPath, id, file, post string, ts int64, stdin io.Reader, stdout io.Writer) error {
	if len(secrets) == 0 {
		s, err := platformSecret(cfgPath, platform)
		if err != nil {
			return err
		}
		secrets = []string{s}
	}
	var body []byte
	var err error
	if file != "" {
		body, err = os.ReadFile(file)
	} else {
		body, err = io.ReadAll(stdin)
	}
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if id == "" {
		id = newMsgID()
	}
	at := time.Now()
	if ts != 0 {
		at = time.Unix(ts, 0)
	}
	h, err := Headers(secrets, id, at, body)
	if err != nil {
		return err
	}
	if post != "" {
		return send(post, h, body, stdout)
	}
	for _, k := range []string{standardwebhooks.HeaderWebhookID, standardwebhooks.HeaderWebhookTimestamp, standardwebhooks.HeaderWebhookSignature} {
		fmt.Fprintf(stdout, "-H '%s: %s'\n", k, h.Get(k))
	}
	if file == "" {
		// The signature covers the exact bytes read: keep them so curl can send the very same body.
		f, err := os.CreateTemp("", "whsign-body-*.json")
		if err != nil {
			return err
		}
		if _, err := f.Write(body); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		file = f.Name()
	}
	fmt.Fprintf(stdout, "-H 'Content-Type: application/json'\n--data-binary @%s\n", file)
	return nil
}

// Headers returns the three Standard Webhooks headers for body, signed with every secret given
// (the signatures space-separated, as during a secret rotation).
func Headers(secrets []string, id string, at time.Time, body []byte) (http.Header, error) {
	if len(secrets) == 0 {
		return nil, errors.New("no secret")
	}
	signers := make([]*standardwebhooks.Webhook, 0, len(secrets))
	for i, s := range secrets {
		if !strings.HasPrefix(s, "whsec_") {
			return nil, fmt.Errorf("secret %d must start with whsec_", i+1)
		}
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			return nil, fmt.Errorf("secret %d: %w", i+1, err)
		}
		signers = append(signers, wh)
	}
	return apiclient.WebhookHeaders(id, at, body, signers...)
}

// platformSecret reads the first secret of a platform from the configuration file.
func platformSecret(path, platform string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("no -secret given and the configuration cannot be read: %w", err)
	}
	secrets, err := apiclient.ParseSecrets(path, b)
	if err != nil {
		return "", err
	}
	if len(secrets[platform]) == 0 {
		return "", fmt.Errorf("configuration %s has no secret for platform %q", path, platform)
	}
	return secrets[platform][0], nil
}

func send(url string, h http.Header, body []byte, stdout io.Writer) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = h.Clone()
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, resp.Status)
	stdout.Write(rb)
	if len(rb) > 0 && rb[len(rb)-1] != '\n' {
		fmt.Fprintln(stdout)
	}
	if resp.StatusCode >= 400 {
		return fmt.Errorf("the server answered %s", resp.Status)
	}
	return nil
}

func newMsgID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "msg_" + hex.EncodeToString(b)
}
