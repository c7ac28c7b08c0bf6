package dynamo_test

import (
	"testing"

	"github.com/cadre-training/cadretrain/shared/dynamo/dynamotest"
	"github.com/cadre-training/cadretrain/shared/storetest"
	"github.com/cadre-training/cadretrain/shared/training"
)

func TestStore(t *testing.T) {
	dynamotest.Clients(t) // skip (or fail) once rather than in every subtest
	storetest.Run(t, func(t *testing.T) training.Store { return dynamotest.Store(t) })
}
