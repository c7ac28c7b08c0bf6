package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/cadre-training/cadretrain/cmd/internal/apiclient"
)

// client talks to the server through the public API only.
type client struct {
	api      apiclient.Client
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
	b, ok := body.([]byte)
	if !ok && body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return 0, nil, err
		}
	}
	st, rb, err := c.api.Do(ctx, method, path, key, hdr, b)
	if err != nil {
		return st, nil, err
	}
	if len(want) > 0 && !slices.Contains(want, st) {
		return st, rb, &apiError{Method: method, Path: path, Status: st, Body: strings.TrimSpace(string(rb))}
	}
	return st, rb, nil
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
	h, err := apiclient.PlatformHeaders(c.secrets, which, msgID, body)
	if err != nil {
		return 0, nil, err
	}
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
