package httpapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/cadre-training/cadretrain/shared/training"
)

// body reads the request body; ServeHTTP has already bounded it to MaxBodyBytes.
func body(c *call) ([]byte, error) {
	b, err := io.ReadAll(c.r.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge(mbe.Limit + 1)
	}
	if err != nil {
		return nil, training.Errorf(training.EINVALID, "the body could not be read: %v", err)
	}
	return b, nil
}

// checkJSONType checks the Content-Type of a JSON request.
func checkJSONType(c *call) error {
	ct := c.r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return training.Errorf(training.EUNSUPPORTED, "Content-Type must be application/json, got %q", ct)
	}
	return nil
}

// requestObject reads a JSON object body (Content-Type checked, size limited). The returned
// Fields collects the errors of the fields read from it.
func requestObject(c *call) (*object, *training.Fields, error) {
	if err := checkJSONType(c); err != nil {
		return nil, nil, err
	}
	b, err := body(c)
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
