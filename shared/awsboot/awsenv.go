package awsboot

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// EnvConfig is the AWS configuration of a Lambda function, read from the environment Lambda
// gives every function and nothing else: the execution role's credentials (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, valid for the execution environment's lifetime), the
// region (AWS_REGION, else AWS_DEFAULT_REGION) and the SDK's endpoint overrides
// (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE> such as AWS_ENDPOINT_URL_DYNAMODB, unless
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true), which the tests of the binaries use to point
// DynamoDB at DynamoDB Local.
//
// It is not config.LoadDefaultConfig on purpose: that resolves the SDK's whole credential chain
// (shared config files, SSO, STS web identity and assume-role, the sign-in service, process and
// container credentials, EC2 instance metadata), and every one of those clients is linked into
// the binary whether it is used or not — about 1 MB of each bootstrap (docs/benchmarks.md
// “Lambda deployment packages”). None of them can apply inside Lambda, whose credentials are
// always in the environment. Retries, timeouts and the HTTP client are each service client's own
// defaults, as they are under LoadDefaultConfig.
func EnvConfig() (aws.Config, error) {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	var missing []string
	for _, v := range [][2]string{{"AWS_REGION", region}, {"AWS_ACCESS_KEY_ID", id}, {"AWS_SECRET_ACCESS_KEY", secret}} {
		if v[1] == "" {
			missing = append(missing, v[0])
		}
	}
	if len(missing) > 0 {
		return aws.Config{}, fmt.Errorf("the AWS environment is incomplete: %s not set (Lambda sets them for every function)", strings.Join(missing, ", "))
	}
	creds := credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN"))
	creds.Value.AccountID = os.Getenv("AWS_ACCOUNT_ID")
	cfg := aws.Config{
		Region:        region,
		Credentials:   aws.NewCredentialsCache(creds),
		ConfigSources: []any{envEndpoints{}},
	}
	if !ignoreEndpointURLs() {
		if u := os.Getenv("AWS_ENDPOINT_URL"); u != "" {
			cfg.BaseEndpoint = aws.String(u)
		}
	}
	return cfg, nil
}

func ignoreEndpointURLs() bool {
	return strings.EqualFold(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true")
}

// envEndpoints gives each service client its AWS_ENDPOINT_URL_<SERVICE> (the service's SDK id in
// upper case, spaces as underscores: DYNAMODB, SECRETS_MANAGER, SQS, LAMBDA), as the SDK's own
// environment configuration does; each client asks its configuration sources for it.
type envEndpoints struct{}

// GetServiceBaseEndpoint is what the service clients look up in aws.Config.ConfigSources.
func (envEndpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	if ignoreEndpointURLs() {
		return "", false, nil
	}
	name := "AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_")
	if u := os.Getenv(name); u != "" {
		return u, true, nil
	}
	return "", false, nil
}
