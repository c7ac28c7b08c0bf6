package awsboot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Invoker calls Lambda's Invoke API (POST /2015-03-31/functions/{name}/invocations), signed
// with the function's credentials by the SDK's Signature Version 4 signer. It is used instead of
// the SDK's service/lambda client, whose package alone adds 0.45–0.7 MB to a bootstrap (its init
// builds a schema of every shape of the Lambda API), for the one call the functions make:
// recompute-quota's asynchronous self-invocations and hr-api's synchronous call of render-xlsx
// (docs/benchmarks.md “Lambda deployment packages”).
//
// The endpoint is AWS_ENDPOINT_URL_LAMBDA, else AWS_ENDPOINT_URL (unless
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true), else https://lambda.<region>.amazonaws.com
// (.amazonaws.com.cn in the China regions). Throttling (429) and server errors (5xx) and
// failed connections are retried up to MaxAttempts times in all with jittered exponential
// backoff, as the SDK's standard retryer does.
type Invoker struct {
	creds    aws.CredentialsProvider
	region   string
	endpoint string
	signer   *v4.Signer
	client   *http.Client
	// MaxAttempts is how many times a call is tried (default 3, the SDK's).
	MaxAttempts int
	// sleep waits between attempts (time.Sleep unless a test replaces it).
	sleep func(context.Context, time.Duration) error
}

// NewInvoker returns an Invoker for cfg's region and credentials (EnvConfig's).
func NewInvoker(cfg aws.Config) *Invoker {
	endpoint := ""
	if u, ok, _ := (envEndpoints{}).GetServiceBaseEndpoint(context.Background(), "Lambda"); ok {
		endpoint = u
	} else if cfg.BaseEndpoint != nil {
		endpoint = *cfg.BaseEndpoint
	} else {
		suffix := "amazonaws.com"
		if strings.HasPrefix(cfg.Region, "cn-") {
			suffix = "amazonaws.com.cn"
		}
		endpoint = "https://lambda." + cfg.Region + "." + suffix
	}
	return &Invoker{
		creds: cfg.Credentials, region: cfg.Region, endpoint: strings.TrimSuffix(endpoint, "/"),
		signer: v4.NewSigner(), client: &http.Client{Timeout: 5 * time.Minute}, MaxAttempts: 3,
		sleep: sleepCtx,
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// InvokeError is an Invoke call the Lambda API refused (Status is its HTTP status, Type its
// x-amzn-ErrorType), or an invocation whose function failed (FunctionError, e.g. "Unhandled",
// with the function's error payload as Message).
type InvokeError struct {
	Function      string
	Status        int
	Type          string
	FunctionError string
	Message       string
}

func (e *InvokeError) Error() string {
	if e.FunctionError != "" {
		return fmt.Sprintf("lambda %s failed (%s): %s", e.Function, e.FunctionError, e.Message)
	}
	return fmt.Sprintf("lambda invoke %s: %d %s: %s", e.Function, e.Status, e.Type, e.Message)
}

// Invoke invokes function with payload: synchronously (it returns the function's response) or,
// with async, as an Event invocation (Lambda queues it and answers 202; it returns nil).
func (i *Invoker) Invoke(ctx context.Context, function string, async bool, payload []byte) ([]byte, error) {
	var lastErr error
	for attempt := 1; ; attempt++ {
		out, retry, err := i.once(ctx, function, async, payload)
		if err == nil {
			return out, nil
		}
		lastErr = err
		if !retry || attempt >= max(i.MaxAttempts, 1) {
			return nil, lastErr
		}
		// Full jitter over 2^attempt × 50 ms, at most 20 s (the SDK's standard backoff).
		backoff := min(time.Duration(1<<attempt)*50*time.Millisecond, 20*time.Second)
		if err := i.sleep(ctx, rand.N(backoff)+time.Millisecond); err != nil {
			return nil, fmt.Errorf("%w (after: %w)", err, lastErr)
		}
	}
}

func (i *Invoker) once(ctx context.Context, function string, async bool, payload []byte) (out []byte, retry bool, err error) {
	u := i.endpoint + "/2015-03-31/functions/" + url.PathEscape(function) + "/invocations"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(payload))
	if err != nil {
		return nil, false, fmt.Errorf("lambda invoke %s: %w", function, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if async {
		req.Header.Set("X-Amz-Invocation-Type", "Event")
	} else {
		req.Header.Set("X-Amz-Invocation-Type", "RequestResponse")
	}
	creds, err := i.creds.Retrieve(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("lambda invoke %s: credentials: %w", function, err)
	}
	sum := sha256.Sum256(payload)
	if err := i.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "lambda", i.region, time.Now().UTC()); err != nil {
		return nil, false, fmt.Errorf("lambda invoke %s: sign: %w", function, err)
	}
	resp, err := i.client.Do(req)
	if err != nil {
		return nil, ctx.Err() == nil, fmt.Errorf("lambda invoke %s: %w", function, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, ctx.Err() == nil, fmt.Errorf("lambda invoke %s: read the response: %w", function, err)
	}
	if resp.StatusCode/100 != 2 {
		e := &InvokeError{Function: function, Status: resp.StatusCode, Type: resp.Header.Get("X-Amzn-Errortype"), Message: apiMessage(body)}
		if i := strings.IndexByte(e.Type, ':'); i >= 0 {
			e.Type = e.Type[:i]
		}
		return nil, resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500, e
	}
	if fe := resp.Header.Get("X-Amz-Function-Error"); fe != "" {
		return nil, false, &InvokeError{Function: function, Status: resp.StatusCode, FunctionError: fe, Message: string(body)}
	}
	if async {
		return nil, false, nil
	}
	return body, false, nil
}

// apiMessage is the message of a Lambda API error body ({"Type": …, "message": …}), else the body.
func apiMessage(body []byte) string {
	var e struct {
		Message string `json:"message"` // also "Message": field names match case-insensitively
	}
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return e.Message
	}
	return string(bytes.TrimSpace(body))
}
