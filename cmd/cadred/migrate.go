package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/cadre-training/cadretrain/shared/awsboot"
	"github.com/cadre-training/cadretrain/shared/dynamo"
	"github.com/cadre-training/cadretrain/shared/dynamo/streamfeed"
)

// migrateDynamo brings a DynamoDB table written by older builds into the present layout
// (docs/dynamodb.md “Migration”): cadres still in the unsharded unit index are moved to their
// shards, report facts without gsi2 keys get them, and the listing copies gsi2 replaced are
// deleted. Each step is a parallel Scan and a conditional write per item to change; run again,
// it changes nothing, so an interrupted run is simply run again.
//
//	cadred migrate-dynamodb -table NAME [-segments N]               against AWS: credentials and
//	                                                                region from AWS_* variables
//	cadred migrate-dynamodb -table NAME -dynamodb-endpoint URL      against DynamoDB Local
func migrateDynamo(log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("cadred migrate-dynamodb", flag.ContinueOnError)
	table := fs.String("table", "", "the table (in AWS: the stack's TableName output)")
	endpoint := fs.String("dynamodb-endpoint", os.Getenv("DYNAMODB_ENDPOINT"), "DynamoDB Local's endpoint (env DYNAMODB_ENDPOINT); empty: AWS, with AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN")
	segments := fs.Int("segments", 16, "parallel scan segments, 1 to 1000")
	every := fs.Duration("progress-every", 5*time.Second, "how often to log the progress of a step")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *table == "" {
		return fmt.Errorf("migrate-dynamodb: -table is required")
	}
	if *segments < 1 || *segments > 1000 {
		return fmt.Errorf("migrate-dynamodb: -segments %d is not in 1..1000", *segments)
	}
	var db *dynamodb.Client
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *endpoint != "" {
		db, _ = streamfeed.LocalClients(*endpoint)
		if _, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: table}); err != nil {
			return fmt.Errorf("migrate-dynamodb: table %q: %w", *table, err)
		}
		// In AWS the template adds gsi2; to a DynamoDB Local table, this does.
		if err := dynamo.EnsureTable(ctx, db, *table); err != nil {
			return fmt.Errorf("migrate-dynamodb: %w", err)
		}
	} else {
		cfg, err := awsboot.EnvConfig()
		if err != nil {
			return fmt.Errorf("migrate-dynamodb: %w (or give -dynamodb-endpoint for DynamoDB Local)", err)
		}
		db = dynamodb.NewFromConfig(cfg)
	}
	s := dynamo.New(db, nil, *table)
	steps := []struct {
		name string
		run  func(context.Context, int, func(int, int)) (int, error)
	}{
		{"cadre shards", s.BackfillCadreShards},
		{"facts index", s.BackfillFactsIndex},
	}
	for _, st := range steps {
		start := time.Now()
		var (
			mu   sync.Mutex
			last time.Time
		)
		progress := func(scanned, changed int) {
			mu.Lock()
			defer mu.Unlock()
			if time.Since(last) >= *every {
				last = time.Now()
				log.Info("migrate-dynamodb", "step", st.name, "scanned", scanned, "changed", changed, "elapsed", time.Since(start).Round(time.Second).String())
			}
		}
		changed, err := st.run(ctx, *segments, progress)
		if err != nil {
			return fmt.Errorf("migrate-dynamodb: %s: %w (%d changed before it; run again to go on)", st.name, err, changed)
		}
		log.Info("migrate-dynamodb step done", "step", st.name, "changed", changed, "took", time.Since(start).Round(time.Millisecond).String())
	}
	return nil
}
