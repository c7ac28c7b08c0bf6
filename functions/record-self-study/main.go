// Command record-self-study is the record-self-study Lambda function (see template.yaml). It only wires: awsboot builds what
// this function uses once per cold start and hands its handler to the Lambda runtime.
package main

import (
	"github.com/cadre-training/cadretrain/shared/awsboot/httpfn"
	"github.com/cadre-training/cadretrain/shared/httpapi"
)

func main() { httpfn.HTTP(httpapi.RecordSelfStudy, httpfn.NoXLSX) }
