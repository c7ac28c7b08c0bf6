// Package functions_test checks what each Lambda function under functions/ links: each builds
// only what it uses, so that every bootstrap stays under 10 MB and every zip under 4 MB
// (docs/benchmarks.md “Lambda deployment packages”, where the sizes are; e2e/lambdarie checks
// the built sizes).
package functions_test

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Packages no function may link, and why.
var nowhere = map[string]string{
	"github.com/aws/aws-sdk-go-v2/config":                  "the SDK's default credential chain: awsboot.EnvConfig reads Lambda's environment",
	"github.com/aws/aws-sdk-go-v2/service/sts":             "the credential chain (awsboot.EnvConfig)",
	"github.com/aws/aws-sdk-go-v2/service/sso":             "the credential chain (awsboot.EnvConfig)",
	"github.com/aws/aws-sdk-go-v2/service/ssooidc":         "the credential chain (awsboot.EnvConfig)",
	"github.com/aws/aws-sdk-go-v2/service/signin":          "the credential chain (awsboot.EnvConfig)",
	"github.com/aws/aws-sdk-go-v2/service/lambda":          "its package init alone is 0.45 MB: awsboot.Invoker calls the Invoke API",
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams": "the one-machine server's stream reader: Lambda gets the stream as events",
	"gopkg.in/yaml.v3":                                     "docs/openapi.json is generated from the YAML (go generate ./docs)",
	"html/template":                                        "calls methods by reflection, which keeps every exported method of the program",
	"text/template":                                        "calls methods by reflection, which keeps every exported method of the program",
	"net/http/pprof":                                       "not served in Lambda",
	"expvar":                                               "not served in Lambda",
}

// Packages only some functions may link.
var only = map[string][]string{
	"github.com/xuri/excelize/v2":                         {"render-xlsx"}, // most of a bootstrap (shared/sheet/xlsx/xlsxfn)
	"github.com/aws/aws-sdk-go-v2/service/dynamodb":       {"deliver-notices", "hr-api", "ingest-completions", "recompute-quota", "record-self-study", "write-form-entries"},
	"github.com/aws/aws-sdk-go-v2/service/sqs":            {"deliver-notices"},
	"github.com/cadre-training/cadretrain/shared/httpapi": {"hr-api", "ingest-completions", "recompute-quota", "record-self-study"},
	// render-xlsx has only excelize's margin under 10 MB: it renders sheets and knows no rules.
	"github.com/cadre-training/cadretrain/shared/training": {"deliver-notices", "hr-api", "ingest-completions", "recompute-quota", "record-self-study", "write-form-entries"},
}

func TestFunctionsLinkOnlyWhatTheyUse(t *testing.T) {
	dirs, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		fn := d.Name()
		n++
		cmd := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", "./"+fn)
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "GOFLAGS=")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %s: %v", fn, err)
		}
		deps := strings.Fields(string(out))
		for pkg, why := range nowhere {
			if slices.Contains(deps, pkg) {
				t.Errorf("%s links %s (%s)", fn, pkg, why)
			}
		}
		for pkg, fns := range only {
			if slices.Contains(deps, pkg) && !slices.Contains(fns, fn) {
				t.Errorf("%s links %s, which only %s may", fn, pkg, strings.Join(fns, ", "))
			}
		}
	}
	if n < 7 {
		t.Fatalf("%d functions under functions/, want at least 7", n)
	}
}
