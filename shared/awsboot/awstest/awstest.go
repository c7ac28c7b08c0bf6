// Package awstest holds what the tests of the Lambda adapters share: the event fixtures of
// shared/awsboot/testdata and a real embedded store whose writes can be made to fail.
package awstest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/cadre-training/cadretrain/shared/bolt"
	"github.com/cadre-training/cadretrain/shared/training"
)

// Fixture decodes testdata/<name> of shared/awsboot: http-api-proxy.json is `sam local
// generate-event apigateway http-api-proxy`; scheduled-event.json is `sam local generate-event
// cloudwatch scheduled-event`; record-stream-event.json is a stream batch of this table's record
// items (kept equal to the codec's output by shared/dynamo's TestStreamEventFixture).
func Fixture[T any](tb testing.TB, name string) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(Raw(tb, name), &v); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return v
}

// Raw reads testdata/<name> of shared/awsboot.
func Raw(tb testing.TB, name string) []byte {
	tb.Helper()
	_, here, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FaultyStore is a real embedded store whose PutFormEntries can be replaced, for the error paths
// real parts cannot produce.
type FaultyStore struct {
	training.Store
	PutFormEntriesFunc func(context.Context, []training.FormEntry) error
}

// PutFormEntries calls PutFormEntriesFunc when set.
func (f *FaultyStore) PutFormEntries(ctx context.Context, es []training.FormEntry) error {
	if f.PutFormEntriesFunc != nil {
		return f.PutFormEntriesFunc(ctx, es)
	}
	return f.Store.PutFormEntries(ctx, es)
}

// NewStore opens an embedded store in a temporary directory, closed when the test ends.
func NewStore(tb testing.TB) *FaultyStore {
	tb.Helper()
	st, err := bolt.Open(filepath.Join(tb.TempDir(), "cadre.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return &FaultyStore{Store: st}
}
