// Command write-form-entries is the write-form-entries Lambda function (see template.yaml). It only wires: environment →
// SDK clients and store, once per cold start → handlers.WriteFormEntries → lambda.Start (awsboot.Run).
package main

import (
	"github.com/cadre-training/cadretrain/shared/awsboot"
	"github.com/cadre-training/cadretrain/shared/handlers"
)

func main() { awsboot.Run(handlers.WriteFormEntries) }
