// Command hr-api is the hr-api Lambda function (see template.yaml). It only wires: environment →
// SDK clients and store, once per cold start → handlers.HRAPI → lambda.Start (awsboot.Run).
package main

import (
	"github.com/cadre-training/cadretrain/shared/awsboot"
	"github.com/cadre-training/cadretrain/shared/handlers"
)

func main() { awsboot.Run(handlers.HRAPI) }
