// Command recompute-quota is the recompute-quota Lambda function (see template.yaml). It only wires:
// environment → SDK clients and store (once per cold start) → handler → lambda.Start.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/cadre-training/cadretrain/shared/awsboot"
	"github.com/cadre-training/cadretrain/shared/handlers"
)

func main() {
	deps, err := awsboot.Load(context.Background())
	if err != nil {
		awsboot.Fail(err)
	}
	lambda.Start(handlers.RecomputeQuota(deps))
}
