package localrun

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Concurrent invocations of one function must each get their own response. aws-lambda-go's
// Handler.Invoke returns bytes of a buffer it has already released to its pool; sharing one
// handler across goroutines let a request read another's response (seen as sporadic 500s).
func TestConcurrentInvocationsKeepTheirOwnResponses(t *testing.T) {
	f := &function{fn: func(_ context.Context, in map[string]string) (map[string]string, error) {
		return map[string]string{"echo": in["id"] + strings.Repeat("x", len(in["id"])*50)}, nil
	}}
	const workers, calls = 8, 3000
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < calls; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				out, err := f.invoke(context.Background(), []byte(`{"id":"`+id+`"}`))
				if err != nil {
					errs <- err
					return
				}
				want := `{"echo":"` + id + strings.Repeat("x", len(id)*50) + `"}`
				if got := string(out); got != want {
					errs <- fmt.Errorf("call %s got %.60q…, want %.60q…", id, got, want)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
