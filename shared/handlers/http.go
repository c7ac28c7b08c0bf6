package handlers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/training"
)

// Limits of API.md “Errors”.
const (
	MaxBodyBytes = 1 << 20 // bodies over 1 MiB get 413
	MaxBatch     = 100     // batches of more than 100 items get 413
)

type (
	httpRequest  = events.APIGatewayV2HTTPRequest
	httpResponse = events.APIGatewayV2HTTPResponse
	httpHandler  = func(context.Context, httpRequest) (httpResponse, error)
)

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[string]int{
	training.EINVALID:     http.StatusBadRequest,
	training.EUNAUTHED:    http.StatusUnauthorized,
	training.EFORBIDDEN:   http.StatusForbidden,
	training.ENOTFOUND:    http.StatusNotFound,
	training.ECONFLICT:    http.StatusConflict,
	training.ETOOLARGE:    http.StatusRequestEntityTooLarge,
	training.EUNSUPPORTED: http.StatusUnsupportedMediaType,
	training.EINTERNAL:    http.StatusInternalServerError,
}

var titleOf = map[string]string{
	training.EINVALID:     "Invalid request",
	training.EUNAUTHED:    "Unauthorized",
	training.EFORBIDDEN:   "Forbidden",
	training.ENOTFOUND:    "Not found",
	training.ECONFLICT:    "Conflict",
	training.ETOOLARGE:    "Payload too large",
	training.EUNSUPPORTED: "Unsupported media type",
	training.EINTERNAL:    "Internal error",
}

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string                `json:"type"`
	Title  string                `json:"title"`
	Status int                   `json:"status"`
	Detail string                `json:"detail"`
	Errors []training.FieldError `json:"errors,omitempty"`
}

// problemType is the problem's type URI; docs/api-errors.md describes each.
func problemType(code string) string { return "urn:cadretrain:problem:" + code }

// errorResponse maps err to a problem response. Internal errors are logged with the request id
// and never shown to the client.
func errorResponse(log *slog.Logger, req httpRequest, err error) httpResponse {
	code := training.ErrorCode(err)
	p := Problem{Type: problemType(code), Title: titleOf[code], Status: statusOf[code], Detail: training.ErrorMessage(err)}
	var e *training.Error
	if code == training.EINTERNAL {
		log.Error("internal error", "route", req.RouteKey, "request_id", req.RequestContext.RequestID, "err", err.Error())
		p.Detail = "internal error; reference " + req.RequestContext.RequestID
	} else if asError(err, &e) {
		p.Errors = e.Fields
	}
	resp := jsonResponse(p.Status, p)
	resp.Headers["Content-Type"] = "application/problem+json"
	if code == training.EUNAUTHED {
		resp.Headers["WWW-Authenticate"] = `Bearer realm="cadretrain"`
	}
	return resp
}

func jsonResponse(status int, v any) httpResponse {
	b, err := json.Marshal(v)
	if err != nil { // only our own view types are marshalled
		status, b = http.StatusInternalServerError, []byte(`{"type":"urn:cadretrain:problem:internal","title":"Internal error","status":500,"detail":"response encoding failed"}`)
	}
	return httpResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"},
		Body:       string(b),
	}
}

// header returns a request header case-insensitively (API Gateway lower-cases them; the local
// server does the same, but callers of the handlers in tests may not).
func header(req httpRequest, name string) string {
	if v, ok := req.Headers[strings.ToLower(name)]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// body returns the raw request body, decoding API Gateway's base64 form, and enforces the size limit.
func body(req httpRequest) ([]byte, error) {
	var b []byte
	if req.IsBase64Encoded {
		var err error
		if b, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return nil, training.Errorf(training.EINVALID, "body is not valid base64")
		}
	} else {
		b = []byte(req.Body)
	}
	if len(b) > MaxBodyBytes {
		return nil, training.Errorf(training.ETOOLARGE, "the body is %d bytes; the limit is %d (1 MiB)", len(b), MaxBodyBytes)
	}
	return b, nil
}

// jsonBody checks the Content-Type and returns the body.
func jsonBody(req httpRequest) ([]byte, error) {
	ct := header(req, "Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil, training.Errorf(training.EUNSUPPORTED, "Content-Type must be application/json, got %q", ct)
	}
	return body(req)
}

// requestObject reads a JSON object body (Content-Type checked, size limited). The returned
// Fields collects the errors of the fields read from it.
func requestObject(req httpRequest) (*object, *training.Fields, error) {
	b, err := jsonBody(req)
	if err != nil {
		return nil, nil, err
	}
	errs := &training.Fields{}
	o, ok := parseObject(b, "", errs)
	if !ok {
		return nil, nil, errs.Err()
	}
	return o, errs, nil
}

// authenticate resolves the bearer key and checks its role.
func authenticate(cfg *config.Config, req httpRequest, role string) (*config.APIKey, error) {
	auth := header(req, "Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if auth == "" || !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, training.Errorf(training.EUNAUTHED, "an Authorization: Bearer <api key> header is required")
	}
	key := cfg.Authenticate(strings.TrimSpace(token))
	if key == nil {
		return nil, training.Errorf(training.EUNAUTHED, "unknown API key")
	}
	if !key.Allows(role) {
		return nil, training.Errorf(training.EFORBIDDEN, "this API key's role %q may not do this (needs %q)", key.Role, role)
	}
	return key, nil
}

// guard wraps an HTTP handler: panics become 500 problems and are logged with their stack, so a
// bug answers one request badly instead of killing the process.
func guard(log *slog.Logger, h func(context.Context, httpRequest) (httpResponse, error)) httpHandler {
	return func(ctx context.Context, req httpRequest) (resp httpResponse, err error) {
		defer func() {
			if r := recover(); r != nil {
				resp = errorResponse(log, req, fmt.Errorf("panic: %v\n%s", r, debug.Stack()))
				err = nil
			}
		}()
		resp, err = h(ctx, req)
		if err != nil {
			return errorResponse(log, req, err), nil
		}
		return resp, nil
	}
}
