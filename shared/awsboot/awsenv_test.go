package awsboot_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/cadre-training/cadretrain/shared/awsboot"
)

// lambdaEnv is the AWS part of the environment Lambda gives every function.
var lambdaEnv = map[string]string{
	"AWS_REGION":                          "cn-north-1",
	"AWS_DEFAULT_REGION":                  "",
	"AWS_ACCESS_KEY_ID":                   "AKIDEXAMPLE",
	"AWS_SECRET_ACCESS_KEY":               "secret",
	"AWS_SESSION_TOKEN":                   "token",
	"AWS_ACCOUNT_ID":                      "",
	"AWS_ENDPOINT_URL":                    "",
	"AWS_ENDPOINT_URL_DYNAMODB":           "",
	"AWS_ENDPOINT_URL_SECRETS_MANAGER":    "",
	"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
}

func setEnv(t *testing.T, over map[string]string) {
	for k, v := range lambdaEnv {
		t.Setenv(k, v)
	}
	for k, v := range over {
		t.Setenv(k, v)
	}
}

// TestEnvConfigIncomplete: without the region or the role's keys the cold start fails, naming
// what is missing (Lambda always sets them; a function run elsewhere must too).
func TestEnvConfigIncomplete(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"no region", map[string]string{"AWS_REGION": ""}, []string{"AWS_REGION"}},
		{"no keys", map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}, []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setEnv(t, tc.env)
			_, err := awsboot.EnvConfig()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
	setEnv(t, map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": "cn-northwest-1"})
	if cfg, err := awsboot.EnvConfig(); err != nil || cfg.Region != "cn-northwest-1" {
		t.Fatalf("AWS_DEFAULT_REGION: region %q, %v", cfg.Region, err)
	}
}

// recorder stands in for the network: it keeps each request and answers an empty JSON object.
type recorder struct{ reqs []*http.Request }

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	r.reqs = append(r.reqs, req)
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}},
		Body: io.NopCloser(strings.NewReader("{}")), Request: req}, nil
}

// TestEnvConfigEndpointsAndCredentials: each service client goes to its
// AWS_ENDPOINT_URL_<SERVICE>, else to AWS_ENDPOINT_URL, and to the service's own endpoint with
// neither or with AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true (as under the SDK's environment
// configuration); requests are signed with the environment's keys, session token and region.
func TestEnvConfigEndpointsAndCredentials(t *testing.T) {
	const ddbURL, smURL, globalURL = "http://127.0.0.1:8000", "http://127.0.0.1:8001", "http://127.0.0.1:9"
	for _, tc := range []struct {
		name            string
		env             map[string]string
		wantDDB, wantSM string // the hosts the two clients call
	}{
		{"per service", map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": ddbURL, "AWS_ENDPOINT_URL_SECRETS_MANAGER": smURL, "AWS_ENDPOINT_URL": globalURL}, "127.0.0.1:8000", "127.0.0.1:8001"},
		{"global for the others", map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": ddbURL, "AWS_ENDPOINT_URL": globalURL}, "127.0.0.1:8000", "127.0.0.1:9"},
		{"none", nil, "dynamodb.cn-north-1.amazonaws.com.cn", "secretsmanager.cn-north-1.amazonaws.com.cn"},
		{"ignored", map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": ddbURL, "AWS_ENDPOINT_URL": globalURL, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, "dynamodb.cn-north-1.amazonaws.com.cn", "secretsmanager.cn-north-1.amazonaws.com.cn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setEnv(t, tc.env)
			cfg, err := awsboot.EnvConfig()
			if err != nil {
				t.Fatal(err)
			}
			net := &recorder{}
			cfg.HTTPClient = net
			ctx := context.Background()
			if _, err := dynamodb.NewFromConfig(cfg).ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
				t.Fatal(err)
			}
			if _, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("x")}); err != nil {
				t.Fatal(err)
			}
			if len(net.reqs) != 2 || net.reqs[0].URL.Host != tc.wantDDB || net.reqs[1].URL.Host != tc.wantSM {
				var hosts []string
				for _, r := range net.reqs {
					hosts = append(hosts, r.URL.Host)
				}
				t.Fatalf("hosts %v, want [%s %s]", hosts, tc.wantDDB, tc.wantSM)
			}
			r := net.reqs[0]
			auth := r.Header.Get("Authorization")
			if !strings.Contains(auth, "Credential=AKIDEXAMPLE/") || !strings.Contains(auth, "/cn-north-1/dynamodb/aws4_request") {
				t.Errorf("Authorization %q: not signed with the environment's key and region", auth)
			}
			if got := r.Header.Get("X-Amz-Security-Token"); got != "token" {
				t.Errorf("X-Amz-Security-Token %q, want the session token", got)
			}
		})
	}
}
