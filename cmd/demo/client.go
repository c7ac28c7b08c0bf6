package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// client talks to the server through the public API only.
type client struct {
	base     string // e.g. http://127.0.0.1:3000
	http     *http.Client
	platform string
	secrets  []string
}

// apiError is an unexpected answer, with the problem document's detail when there is one.
type apiError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, e.Body)
}

// do sends a JSON request (body marshalled unless it is already []byte) and returns the status and
// body; a status outside want is an *apiError.
func (c *client) do(ctx context.Context, method, path, key string, hdr http.Header, body any, want ...int) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, ok := body.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(body); err != nil {
				return 0, nil, err
			}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if len(want) > 0 && !slices.Contains(want, resp.StatusCode) {
		return resp.StatusCode, rb, &apiError{Method: method, Path: path, Status: resp.StatusCode, Body: strings.TrimSpace(string(rb))}
	}
	return resp.StatusCode, rb, nil
}

// getJSON GETs path and decodes a 200 answer into v.
func (c *client) getJSON(ctx context.Context, path, key string, v any) error {
	_, b, err := c.do(ctx, http.MethodGet, path, key, nil, nil, http.StatusOK)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("GET %s: undecodable answer: %w", path, err)
	}
	return nil
}

// webhook POSTs a signed completion body (one completion or {"completions": [...]}) to the
// platform's endpoint, signed with secret number which (the platform rotates its secrets).
func (c *client) webhook(ctx context.Context, msgID string, which int, body []byte) (int, []byte, error) {
	wh, err := standardwebhooks.NewWebhook(c.secrets[which%len(c.secrets)])
	if err != nil {
		return 0, nil, fmt.Errorf("platform secret: %w", err)
	}
	now := time.Now()
	sig, err := wh.Sign(msgID, now, body)
	if err != nil {
		return 0, nil, err
	}
	h := http.Header{}
	h.Set(standardwebhooks.HeaderWebhookID, msgID)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, fmt.Sprint(now.Unix()))
	h.Set(standardwebhooks.HeaderWebhookSignature, sig)
	return c.do(ctx, http.MethodPost, "/v1/webhooks/completions/"+c.platform, "", h, body, http.StatusOK, http.StatusConflict)
}

// parallel runs jobs on up to n goroutines and returns the errors joined (at most a few shown).
func parallel(n int, jobs []func() error) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	ch := make(chan func() error)
	for range n {
		wg.Go(func() {
			for job := range ch {
				if err := job(); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	if len(errs) > 3 {
		errs = append(errs[:3], fmt.Errorf("… and %d more errors", len(errs)-3))
	}
	return errors.Join(errs...)
}
