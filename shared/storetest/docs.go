package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/cadre-training/cadretrain/shared/training"
)

// testDocs checks training.DocStore: optimistic versions on put and delete, prefix listing in id
// order with pages, and that of concurrent creates of one id exactly one wins (the outbox and the
// attendance marks rely on it).
func testDocs(t *testing.T, newStore func(t *testing.T) training.Store) {
	ctx := context.Background()
	doc := func(kind, id, body string) training.Doc {
		return training.Doc{Kind: kind, ID: id, Body: json.RawMessage(body)}
	}
	t.Run("Versions", func(t *testing.T) {
		s := newStore(t)
		_, err := s.GetDoc(ctx, training.DocClass, "c1")
		wantCode(t, "get missing", err, training.ENOTFOUND)
		d, err := s.PutDoc(ctx, doc(training.DocClass, "c1", `{"a":1}`), 0)
		if err != nil || d.Version != 1 {
			t.Fatalf("create: %+v %v", d, err)
		}
		_, err = s.PutDoc(ctx, doc(training.DocClass, "c1", `{"a":2}`), 0)
		wantCode(t, "create twice", err, training.ECONFLICT)
		_, err = s.PutDoc(ctx, doc(training.DocClass, "c1", `{"a":2}`), 5)
		wantCode(t, "wrong version", err, training.ECONFLICT)
		_, err = s.PutDoc(ctx, doc(training.DocClass, "c2", `{"a":2}`), 1)
		wantCode(t, "update missing", err, training.ECONFLICT)
		if d, err = s.PutDoc(ctx, doc(training.DocClass, "c1", `{"a":2}`), 1); err != nil || d.Version != 2 {
			t.Fatalf("update: %+v %v", d, err)
		}
		got, err := s.GetDoc(ctx, training.DocClass, "c1")
		if err != nil || got.Version != 2 || string(compact(t, got.Body)) != `{"a":2}` || got.Kind != training.DocClass || got.ID != "c1" {
			t.Fatalf("get: %+v %s %v", got, got.Body, err)
		}
		// The same id under another kind is another document.
		if _, err := s.GetDoc(ctx, training.DocDue, "c1"); training.ErrorCode(err) != training.ENOTFOUND {
			t.Fatalf("another kind: %v", err)
		}
		wantCode(t, "delete wrong version", s.DeleteDoc(ctx, training.DocClass, "c1", 1), training.ECONFLICT)
		if err := s.DeleteDoc(ctx, training.DocClass, "c1", 2); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteDoc(ctx, training.DocClass, "c1", 2); err != nil {
			t.Fatalf("delete missing is a no-op: %v", err)
		}
		_, err = s.GetDoc(ctx, training.DocClass, "c1")
		wantCode(t, "get deleted", err, training.ENOTFOUND)
		if _, err := s.PutDoc(ctx, doc(training.DocClass, "c1", `{"a":3}`), 0); err != nil {
			t.Fatalf("create after delete: %v", err)
		}
	})
	t.Run("List", func(t *testing.T) {
		s := newStore(t)
		ids := []string{"b/2", "a/1", "b/1", "a/10", "b", "c/1"}
		for _, id := range ids {
			if _, err := s.PutDoc(ctx, doc(training.DocDelivery, id, `{}`), 0); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.PutDoc(ctx, doc(training.DocDue, "a/1", `{}`), 0); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			prefix string
			want   []string
		}{
			{"", []string{"a/1", "a/10", "b", "b/1", "b/2", "c/1"}},
			{"a/", []string{"a/1", "a/10"}},
			{"b/", []string{"b/1", "b/2"}},
			{"d/", nil},
		} {
			for _, limit := range []int{1, 2, 100} {
				t.Run(fmt.Sprintf("%q/limit=%d", tc.prefix, limit), func(t *testing.T) {
					var got []string
					cursor := ""
					for page := 0; ; page++ {
						if page > 10 {
							t.Fatal("too many pages")
						}
						docs, next, err := s.ListDocs(ctx, training.DocDelivery, tc.prefix, cursor, limit)
						if err != nil {
							t.Fatal(err)
						}
						if len(docs) > limit {
							t.Fatalf("page of %d, limit %d", len(docs), limit)
						}
						for _, d := range docs {
							got = append(got, d.ID)
						}
						if next == "" {
							break
						}
						cursor = next
					}
					if !slices.Equal(got, tc.want) {
						t.Fatalf("got %v, want %v", got, tc.want)
					}
				})
			}
		}
		_, _, err := s.ListDocs(ctx, training.DocDelivery, "", "not-a-cursor!", 2)
		wantCode(t, "bad cursor", err, training.EINVALID)
	})
	t.Run("ConcurrentCreate", func(t *testing.T) {
		s := newStore(t)
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.PutDoc(ctx, doc(training.DocDue, "x/y", fmt.Sprintf(`{"i":%d}`, i)), 0)
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch training.ErrorCode(err) {
			case "":
				won++
			case training.ECONFLICT:
			default:
				t.Fatalf("unexpected: %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d creates won, want 1", won)
		}
	})
}

func compact(t *testing.T, b []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return out
}
