// Package awsboot builds a Lambda function's dependencies once per cold start: the SDK clients,
// the DynamoDB store and the configuration (from the Secrets Manager secret named by
// CADRE_CONFIG_SECRET, or the file named by CADRE_CONFIG). functions/*/main.go call Load and
// fail fast when it errs.
package awsboot

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/dynamo"
	"github.com/cadre-training/cadretrain/shared/handlers"
)

// Load reads the environment and builds the handlers' dependencies:
//   - TABLE_NAME (required): the DynamoDB table;
//   - CADRE_CONFIG_SECRET: the secret holding the configuration JSON, or else
//     CADRE_CONFIG: a file with it (for tests of the binaries);
//   - AWS_LAMBDA_FUNCTION_NAME (set by Lambda): the target of asynchronous self-invocations.
func Load(ctx context.Context) (handlers.Deps, error) {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	table := os.Getenv("TABLE_NAME")
	if table == "" {
		return handlers.Deps{}, fmt.Errorf("TABLE_NAME is not set")
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return handlers.Deps{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	cfg, err := loadConfig(ctx, awsCfg)
	if err != nil {
		return handlers.Deps{}, err
	}
	store := dynamo.New(dynamodb.NewFromConfig(awsCfg), dynamodbstreams.NewFromConfig(awsCfg), table)
	deps := handlers.Deps{Store: store, StoreKind: "dynamodb", Config: cfg, Now: time.Now, Log: log}
	if fn := os.Getenv("AWS_LAMBDA_FUNCTION_NAME"); fn != "" {
		deps.Invoker = &selfInvoker{client: awslambda.NewFromConfig(awsCfg), function: fn}
	}
	return deps, nil
}

func loadConfig(ctx context.Context, awsCfg aws.Config) (*config.Config, error) {
	if id := os.Getenv("CADRE_CONFIG_SECRET"); id != "" {
		out, err := secretsmanager.NewFromConfig(awsCfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("read configuration secret %s: %w", id, err)
		}
		return config.Parse([]byte(aws.ToString(out.SecretString)))
	}
	if path := os.Getenv("CADRE_CONFIG"); path != "" {
		return config.LoadFile(path)
	}
	return nil, fmt.Errorf("neither CADRE_CONFIG_SECRET nor CADRE_CONFIG is set")
}

// selfInvoker invokes the running function itself asynchronously (InvocationType Event).
type selfInvoker struct {
	client   *awslambda.Client
	function string
}

func (s *selfInvoker) InvokeAsync(ctx context.Context, payload []byte) error {
	_, err := s.client.Invoke(ctx, &awslambda.InvokeInput{
		FunctionName:   aws.String(s.function),
		InvocationType: lambdatypes.InvocationTypeEvent,
		Payload:        payload,
	})
	if err != nil {
		return fmt.Errorf("invoke %s asynchronously: %w", s.function, err)
	}
	return nil
}

// Run is the whole main of a function: build the dependencies once per cold start (failing fast),
// build the handler from them and hand it to the Lambda runtime.
func Run[H any](handler func(handlers.Deps) H) {
	deps, err := Load(context.Background())
	if err != nil {
		Fail(err)
	}
	lambda.Start(handler(deps))
}

// Fail logs a cold-start failure as JSON and exits: Lambda reports the init error and retries
// the cold start; nothing half-built ever serves a request.
func Fail(err error) {
	slog.New(slog.NewJSONHandler(os.Stdout, nil)).Error("cold start failed", "err", err.Error())
	os.Exit(1)
}
