package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cadre-training/cadretrain/shared/dynamo"
	"github.com/cadre-training/cadretrain/shared/dynamo/dynamotest"
	"github.com/cadre-training/cadretrain/shared/storetest"
	"github.com/cadre-training/cadretrain/shared/training"
)

// docs/dynamodb.md “Migration”: cadred migrate-dynamodb against a table as builds before the
// facts index left it (no gsi2, cadres in the unsharded unit index, facts without index keys):
// afterwards the table has gsi2 and the lists find every cadre and its facts; a second run
// changes nothing.
func TestMigrateDynamo(t *testing.T) {
	ctx := context.Background()
	endpoint := dynamotest.Endpoint(t)
	db, _ := dynamotest.Clients(t)
	table := dynamotest.Table(t, db, func(name string) *dynamodb.CreateTableInput {
		old := dynamo.TableInput(name)
		old.GlobalSecondaryIndexes = old.GlobalSecondaryIndexes[:1] // gsi1 only
		old.AttributeDefinitions = old.AttributeDefinitions[:4]     // pk, sk, gsi1pk, gsi1sk
		return old
	})
	s := dynamo.New(db, nil, table)
	y := storetest.T0.Year()
	ids := []string{"m1", "m2", "m3"}
	for i, id := range ids {
		storetest.MustPutCadre(t, s, storetest.NewCadre(id, "cn/js"), 0)
		f := storetest.NewFacts(id, "cn/js", y, training.StateMet, storetest.T0)
		if i == 1 {
			f.Makeup = []string{training.MakeupUnmetLastYear}
		}
		if err := s.PutFacts(ctx, f); err != nil {
			t.Fatal(err)
		}
		// As the old builds wrote them: the unsharded index partition, no facts index keys.
		for _, u := range []struct{ sk, expr string }{
			{"PROFILE", "SET gsi1pk = :old"},
			{fmt.Sprintf("REPORT#%04d", y), "REMOVE gsi2pk, gsi2sk"},
		} {
			in := &dynamodb.UpdateItemInput{TableName: aws.String(table), UpdateExpression: aws.String(u.expr),
				Key: map[string]types.AttributeValue{
					"pk": &types.AttributeValueMemberS{Value: "CADRE#" + id}, "sk": &types.AttributeValueMemberS{Value: u.sk}}}
			if u.sk == "PROFILE" {
				in.ExpressionAttributeValues = map[string]types.AttributeValue{":old": &types.AttributeValueMemberS{Value: "CADRES"}}
			}
			if _, err := db.UpdateItem(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
	}
	run := func() map[string]float64 {
		var buf bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&buf, nil))
		if err := migrateDynamo(log, []string{"-table", table, "-dynamodb-endpoint", endpoint, "-segments", "2"}); err != nil {
			t.Fatalf("migrate-dynamodb: %v\n%s", err, buf.String())
		}
		changed := map[string]float64{}
		for dec := json.NewDecoder(&buf); ; {
			var line struct {
				Msg     string  `json:"msg"`
				Step    string  `json:"step"`
				Changed float64 `json:"changed"`
			}
			if dec.Decode(&line) != nil {
				break
			}
			if line.Msg == "migrate-dynamodb step done" {
				changed[line.Step] = line.Changed
			}
		}
		return changed
	}
	if got, want := run(), map[string]float64{"cadre shards": 3, "facts index": 3}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("first run changed %v, want %v", got, want)
	}
	cs, _, err := s.ListCadres(ctx, "cn/js", "", 10)
	if err != nil || len(cs) != 3 {
		t.Fatalf("cadres listed after the migration: %d, err %v; want 3", len(cs), err)
	}
	list := func(makeup bool) []string {
		fs, _, err := s.ListFacts(ctx, y, "cn/js", nil, 10, makeup)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range fs {
			out = append(out, f.CadreID)
		}
		return out
	}
	if got := list(false); !slices.Equal(got, ids) {
		t.Fatalf("facts listed after the migration: %v, want %v", got, ids)
	}
	if got := list(true); !slices.Equal(got, []string{"m2"}) {
		t.Fatalf("补训 list after the migration: %v, want [m2]", got)
	}
	if got, want := run(), map[string]float64{"cadre shards": 0, "facts index": 0}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("second run changed %v, want %v", got, want)
	}
	// A table that is not there is an error naming it, not a new empty table.
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if err := migrateDynamo(quiet, []string{"-table", table + "-missing", "-dynamodb-endpoint", endpoint}); err == nil || !strings.Contains(err.Error(), table+"-missing") {
		t.Fatalf("migrate-dynamodb of a missing table: %v", err)
	}
	if out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table + "-missing")}); err == nil {
		t.Fatalf("the migration created table %s", aws.ToString(out.Table.TableName))
	}
}
