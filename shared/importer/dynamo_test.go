package importer

import (
	"os"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/dynamo/dynamotest"
)

// TestImportDynamoDB: issue 12 item 3 on DynamoDB Local (scripts/dynamodb-local.sh run -- go test
// ./shared/importer/...): without a bulk path every row goes through the service's ordinary
// writes; bad rows are reported, and a second import of the same rows from another file creates
// nothing (each record is found again by its key).
func TestImportDynamoDB(t *testing.T) {
	store := dynamotest.Store(t)
	svc := app.New(store)
	svc.Now = func() time.Time { return time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC) }

	dir := t.TempDir()
	files, err := Generate(dir, 12, 3)
	if err != nil {
		t.Fatal(err)
	}
	bad := write(t, dir, "bad.csv", "cadre_id,event_id,kind,hours,studied_on\nk0000001,x1,online,abc,2026-01-02\nnobody,x2,online,2,2026-01-02\n")
	res, err := Run(ctx, Options{Service: svc, Batch: 10, StateDir: dir}, append(files, bad))
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 50 || res.Imported != 48 || res.Rejected != 2 {
		t.Fatalf("counts %+v, want 50 rows, 48 imported, 2 rejected", res)
	}
	rep := readReport(t, res.Report)
	if rep[0][1] != "2" || rep[0][2] != "hours" || rep[1][1] != "3" || rep[1][2] != "cadre_id" {
		t.Errorf("report %v: want line 2 hours, line 3 cadre_id", rep)
	}
	recs, err := store.ListRecords(ctx, "k0000005")
	if err != nil || len(recs) != 3 {
		t.Fatalf("k0000005 has %d records, %v", len(recs), err)
	}
	again := write(t, dir, "again.csv", mustRead(t, files[1]))
	res, err = Run(ctx, Options{Service: svc, StateDir: dir}, []string{again})
	if err != nil || res.Already != 36 || res.Imported != 0 {
		t.Fatalf("second import: %+v, %v; want 36 already imported", res, err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
