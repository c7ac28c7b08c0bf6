package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/storetest"
)

// TestJobTTL: a job item carries its expiry as the table's TTL attribute in Unix seconds, so
// DynamoDB deletes it (template.yaml TimeToLiveSpecification; docs/operations.md “Recompute jobs”).
func TestJobTTL(t *testing.T) {
	s := MustStore(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		expires time.Time
		want    int64
	}{
		{"WithExpiry", storetest.T0.Add(30 * 24 * time.Hour), storetest.T0.Add(30 * 24 * time.Hour).Unix()},
		{"WithoutExpiry", time.Time{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := storetest.NewJob("job_ttl_" + tc.name)
			j.ExpiresAt = tc.expires
			if _, err := s.PutJob(ctx, j, 0); err != nil {
				t.Fatal(err)
			}
			got, err := s.JobExpiresAttr(ctx, j.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("expires_at=%d, want %d", got, tc.want)
			}
		})
	}
}
