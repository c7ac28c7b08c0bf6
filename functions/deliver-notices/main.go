// Command deliver-notices is the deliver-notices Lambda function (see template.yaml): it sends the
// notices of the outbox that reach it from the table's stream through the notice queue. It only
// wires: awsboot builds what it uses once per cold start and hands its handler to the runtime.
package main

import "github.com/cadre-training/cadretrain/shared/awsboot/noticefn"

func main() { noticefn.DeliverNotices() }
