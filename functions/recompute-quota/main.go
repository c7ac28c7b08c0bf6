// Command recompute-quota is the recompute-quota Lambda function (see template.yaml). It only wires: awsboot builds what
// this function uses once per cold start and hands its handler to the Lambda runtime.
package main

import (
	"github.com/cadre-training/cadretrain/shared/awsboot/recomputefn"
)

func main() { recomputefn.RecomputeQuota() }
