package apiclient

import (
	"bytes"
	"context"
	"io"
	"net/http"
)

// Client sends requests to the server's public API.
type Client struct {
	Base string       // the server's base URL without a trailing slash, e.g. http://127.0.0.1:3000
	HTTP *http.Client // required
}

// Do sends one request to Base+path and reads the whole answer, whatever its status. A non-nil
// body is sent as application/json, a non-empty key as "Authorization: Bearer <key>"; the headers
// in hdr are sent as given (these two override them).
func (c *Client) Do(ctx context.Context, method, path, key string, hdr http.Header, body []byte) (status int, answer []byte, err error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
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
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}
