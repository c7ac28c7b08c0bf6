package localrun

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// MaxRequestBytes is API Gateway's limit on a request body (10 MiB); the handlers enforce the
// API's own 1 MiB limit themselves.
const MaxRequestBytes = 10 << 20

// Identity of the stand-in API, as it appears in requestContext.
const (
	localAccountID = "123456789012"
	localAPIID     = "localapi00"
	localStage     = "$default"
)

// apiGatewayTime is the requestContext.time format ("21/Apr/2020:15:08:21 +0000").
const apiGatewayTime = "02/Jan/2006:15:04:05 -0700"

// toEvent builds the payload-2.0 event API Gateway (HTTP API) would send for r on route, with
// the body already read. The rules, from API Gateway's documentation of payload format 2.0:
// header names lower-cased and repeated headers joined with ","; the Cookie header moved to
// cookies (split on ";"); query parameters URL-decoded, repeats joined with ","; path parameters
// URL-decoded; the body base64-encoded unless its Content-Type is text (see isTextContent); host,
// x-forwarded-for/-port/-proto and x-amzn-trace-id added as the API Gateway front end adds them.
func toEvent(r *http.Request, route Route, params map[string]string, body []byte, now time.Time, requestID string) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{}
	var cookies []string
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		lk := strings.ToLower(k)
		vs := r.Header[k]
		if lk == "cookie" {
			for _, v := range vs {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		if prev, ok := headers[lk]; ok {
			headers[lk] = prev + "," + strings.Join(vs, ",")
		} else {
			headers[lk] = strings.Join(vs, ",")
		}
	}
	sourceIP, port := "127.0.0.1", ""
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		sourceIP = h
	}
	if _, p, err := net.SplitHostPort(r.Host); err == nil {
		port = p
	}
	if r.Host != "" {
		headers["host"] = r.Host
	}
	if xff, ok := headers["x-forwarded-for"]; ok && xff != "" {
		headers["x-forwarded-for"] = xff + "," + sourceIP
	} else {
		headers["x-forwarded-for"] = sourceIP
	}
	if port != "" {
		headers["x-forwarded-port"] = port
	}
	headers["x-forwarded-proto"] = "http"
	headers["content-length"] = strconv.Itoa(len(body))
	headers["x-amzn-trace-id"] = traceID(now)

	var query map[string]string
	if r.URL.RawQuery != "" {
		if vals, err := url.ParseQuery(r.URL.RawQuery); err == nil || len(vals) > 0 {
			for k, vs := range vals {
				if query == nil {
					query = map[string]string{}
				}
				query[k] = strings.Join(vs, ",")
			}
		}
	}
	rawPath := r.URL.EscapedPath()
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              route.RouteKey(),
		RawPath:               rawPath,
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     route.RouteKey(),
			AccountID:    localAccountID,
			Stage:        localStage,
			RequestID:    requestID,
			APIID:        localAPIID,
			DomainName:   hostOnly(r.Host),
			DomainPrefix: domainPrefix(hostOnly(r.Host)),
			Time:         now.UTC().Format(apiGatewayTime),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if isTextContent(r.Header.Get("Content-Type")) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// isTextContent reports whether API Gateway passes a body of this Content-Type as text rather
// than base64: text/*, JSON and XML types (including +json and +xml suffixes), JavaScript and
// form data. Anything else, and a body without Content-Type, is base64-encoded.
func isTextContent(ct string) bool {
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript", mt == "application/x-www-form-urlencoded":
		return true
	}
	return false
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

func domainPrefix(host string) string {
	if i := strings.IndexByte(host, '.'); i > 0 && net.ParseIP(host) == nil {
		return host[:i]
	}
	return host
}

// newRequestID makes an id in the style of API Gateway's ("LV7fzho-PHcEJPw=").
func newRequestID() string {
	b := make([]byte, 11)
	_, _ = rand.Read(b)
	return base64.URLEncoding.EncodeToString(b)
}

// traceID makes an X-Ray trace header value: Root=1-<epoch hex>-<96 random bits hex>.
func traceID(now time.Time) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return fmt.Sprintf("Root=1-%08x-%s", now.Unix(), hex.EncodeToString(b))
}

// writeResponse converts the function's output back into an HTTP response as API Gateway does
// for payload format 2.0: an object with statusCode is a response (headers, multiValueHeaders,
// cookies as Set-Cookie, body decoded from base64 when isBase64Encoded); any other JSON output
// is returned as a 200 application/json body (API Gateway's response format inference).
func writeResponse(w http.ResponseWriter, out []byte, requestID string) (int, error) {
	w.Header().Set("Apigw-Requestid", requestID)
	var probe map[string]json.RawMessage
	isResponse := json.Unmarshal(out, &probe) == nil && probe["statusCode"] != nil
	if !isResponse {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, err := w.Write(out)
		return http.StatusOK, err
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode < 100 || resp.StatusCode > 599 {
		return writeGatewayError(w, http.StatusInternalServerError, "Internal Server Error")
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return writeGatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		}
		body = b
	}
	h := w.Header()
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	if h.Get("Content-Type") == "" && len(body) > 0 {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, err := w.Write(body)
	return resp.StatusCode, err
}

// writeGatewayError answers as API Gateway itself does: {"message": "..."}.
func writeGatewayError(w http.ResponseWriter, status int, msg string) (int, error) {
	b, _ := json.Marshal(map[string]string{"message": msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, err := w.Write(b)
	return status, err
}

// apiHandler is the stand-in for API Gateway: route, convert, invoke, convert back, log.
type apiHandler struct {
	s *Server
}

func (a apiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	requestID := newRequestID()
	status, route := a.serve(w, r, requestID)
	a.s.log.Info("request",
		"method", r.Method,
		"path", r.URL.Path,
		"route", route,
		"status", status,
		"duration_ms", float64(time.Since(start).Microseconds())/1000,
		"request_id", requestID,
	)
}

func (a apiHandler) serve(w http.ResponseWriter, r *http.Request, requestID string) (int, string) {
	route, params, ok := a.s.router.match(r.Method, r.URL.EscapedPath())
	if !ok {
		st, _ := writeGatewayError(w, http.StatusNotFound, "Not Found")
		return st, ""
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBytes+1))
	if err != nil {
		st, _ := writeGatewayError(w, http.StatusBadRequest, "Bad Request")
		return st, route.RouteKey()
	}
	if len(body) > MaxRequestBytes {
		st, _ := writeGatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return st, route.RouteKey()
	}
	ev := toEvent(r, route, params, body, a.s.now(), requestID)
	payload, err := json.Marshal(ev)
	if err != nil {
		st, _ := writeGatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return st, route.RouteKey()
	}
	out, err := a.s.invoke(r.Context(), route.Function, payload)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			a.s.log.Error("function failed", "function", route.Function, "route", route.RouteKey(), "request_id", requestID, "err", err.Error())
		}
		st, _ := writeGatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return st, route.RouteKey()
	}
	st, err := writeResponse(w, out, requestID)
	if err != nil {
		a.s.log.Debug("writing response", "err", err.Error(), "request_id", requestID)
	}
	return st, route.RouteKey()
}
