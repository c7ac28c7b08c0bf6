// Package awsboot holds the thin AWS adapters: each Lambda function's main calls one of
// FormEntries here, httpfn.HTTP, recomputefn.RecomputeQuota or noticefn.DeliverNotices, which
// builds only what that function uses, once per cold start (failing fast), and hands typed
// handlers to the Lambda runtime (render-xlsx, which uses no AWS service, starts on its own:
// shared/sheet/xlsx/xlsxfn):
//   - HTTP functions serve their routes of shared/httpapi through API Gateway HTTP API (payload
//     2.0) events with aws-lambda-go-api-proxy's httpadapter;
//   - stream functions decode the DynamoDB stream records into training.Change values and call
//     app.Service.HandleChanges, reporting the first failed record (ReportBatchItemFailures);
//   - recompute-quota has one typed entry point per trigger (stream, schedule, HTTP, its own
//     asynchronous job).
//
// Environment: TABLE_NAME (required); CADRE_CONFIG_SECRET (the Secrets Manager secret with the
// configuration, re-read every config.DefaultTTL) or CADRE_CONFIG (a file, for tests of the
// binaries) in the functions that authenticate callers; AWS_LAMBDA_FUNCTION_NAME (set by Lambda)
// as the target of recompute-quota's asynchronous self-invocations; XLSX_FUNCTION_NAME in hr-api
// (the render-xlsx function, invoked for xlsx exports). The AWS configuration comes
// from Lambda's environment only (EnvConfig), not from the SDK's default credential chain.
package awsboot

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/dynamo"
	"github.com/cadre-training/cadretrain/shared/obs"
)

// Env is what every function is built from.
type Env struct {
	Log     *slog.Logger
	AWS     aws.Config
	Svc     *app.Service
	Metrics *obs.Metrics
}

// load builds the AWS configuration and the service on the table. It reads no secret and builds
// no client beyond DynamoDB's.
func load(function string) (*Env, error) {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", function)
	table := os.Getenv("TABLE_NAME")
	if table == "" {
		return nil, fmt.Errorf("TABLE_NAME is not set")
	}
	awsCfg, err := EnvConfig()
	if err != nil {
		return nil, err
	}
	store := dynamo.New(dynamodb.NewFromConfig(awsCfg), nil, table)
	return &Env{Log: log, AWS: awsCfg, Svc: app.New(store), Metrics: obs.New(os.Stdout, function)}, nil
}

// ConfigSource reads the configuration from the secret named by CADRE_CONFIG_SECRET, or the
// file named by CADRE_CONFIG, every config.DefaultTTL; the first read happens at cold start so a
// missing or broken configuration fails the init, not a request.
func (e *Env) ConfigSource(ctx context.Context) (*config.Source, error) {
	var src *config.Source
	switch {
	case os.Getenv("CADRE_CONFIG_SECRET") != "":
		id := os.Getenv("CADRE_CONFIG_SECRET")
		client := secretsmanager.NewFromConfig(e.AWS)
		src = config.NewSource(func(ctx context.Context) (*config.Config, error) {
			out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
			if err != nil {
				return nil, fmt.Errorf("read configuration secret %s: %w", id, err)
			}
			return config.Parse([]byte(aws.ToString(out.SecretString)))
		}, config.DefaultTTL, e.Log)
	case os.Getenv("CADRE_CONFIG") != "":
		src = config.FileSource(os.Getenv("CADRE_CONFIG"), config.DefaultTTL, e.Log)
	default:
		return nil, fmt.Errorf("neither CADRE_CONFIG_SECRET nor CADRE_CONFIG is set")
	}
	if _, err := src.Get(ctx); err != nil {
		return nil, err
	}
	return src, nil
}

// ColdStart reports true exactly once per execution environment: for its first invocation.
type ColdStart struct{ used atomic.Bool }

// Take reports true the first time only.
func (c *ColdStart) Take() bool { return !c.used.Swap(true) }

// Start builds the function with build and hands its handler to the Lambda runtime; a build
// failure is logged as JSON and exits, so Lambda reports an init error and nothing half-built
// ever serves a request.
func Start[H any](function string, build func(context.Context, *Env) (H, error)) {
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Second)
	h, err := Wire(ctx, function, build)
	cancel()
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stdout, nil)).Error("cold start failed", "function", function, "err", err.Error())
		os.Exit(1)
	}
	lambda.Start(h)
}

// Wire builds the function's handler (Start's testable half).
func Wire[H any](ctx context.Context, function string, build func(context.Context, *Env) (H, error)) (H, error) {
	var zero H
	e, err := load(function)
	if err != nil {
		return zero, err
	}
	h, err := build(ctx, e)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", function, err)
	}
	return h, nil
}

// LambdaFunctionName is the running function's name (set by Lambda; the emulator sets one too).
// CADRE_ASYNC_JOBS=inline runs jobs before answering instead (tests of the binaries, where there
// is no Lambda API to invoke).
func LambdaFunctionName() string {
	if os.Getenv("CADRE_ASYNC_JOBS") == "inline" {
		return ""
	}
	return os.Getenv("AWS_LAMBDA_FUNCTION_NAME")
}
