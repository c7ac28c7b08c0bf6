package dynamo_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"gopkg.in/yaml.v3"

	"github.com/cadre-training/cadretrain/shared/dynamo"
)

type cfnKey struct {
	AttributeName string `yaml:"AttributeName"`
	KeyType       string `yaml:"KeyType"`
}

type cfnTable struct {
	Type                string `yaml:"Type"`
	DeletionPolicy      string `yaml:"DeletionPolicy"`
	UpdateReplacePolicy string `yaml:"UpdateReplacePolicy"`
	Properties          struct {
		BillingMode          string `yaml:"BillingMode"`
		AttributeDefinitions []struct {
			AttributeName string `yaml:"AttributeName"`
			AttributeType string `yaml:"AttributeType"`
		} `yaml:"AttributeDefinitions"`
		KeySchema              []cfnKey `yaml:"KeySchema"`
		GlobalSecondaryIndexes []struct {
			IndexName  string   `yaml:"IndexName"`
			KeySchema  []cfnKey `yaml:"KeySchema"`
			Projection struct {
				ProjectionType string `yaml:"ProjectionType"`
			} `yaml:"Projection"`
		} `yaml:"GlobalSecondaryIndexes"`
		StreamSpecification struct {
			StreamViewType string `yaml:"StreamViewType"`
		} `yaml:"StreamSpecification"`
		PointInTimeRecoverySpecification struct {
			PointInTimeRecoveryEnabled bool `yaml:"PointInTimeRecoveryEnabled"`
		} `yaml:"PointInTimeRecoverySpecification"`
		SSESpecification struct {
			SSEEnabled bool `yaml:"SSEEnabled"`
		} `yaml:"SSESpecification"`
	} `yaml:"Properties"`
}

// docsTable reads the CloudFormation block of docs/dynamodb.md.
func docsTable(tb testing.TB) cfnTable {
	tb.Helper()
	b, err := os.ReadFile("../../docs/dynamodb.md")
	if err != nil {
		tb.Fatal(err)
	}
	doc := string(b)
	_, after, ok := strings.Cut(doc, "## CloudFormation (SAM)")
	if !ok {
		tb.Fatal("docs/dynamodb.md has no CloudFormation section")
	}
	_, after, ok = strings.Cut(after, "```yaml\n")
	block, _, ok2 := strings.Cut(after, "```")
	if !ok || !ok2 {
		tb.Fatal("docs/dynamodb.md has no yaml block in its CloudFormation section")
	}
	var res map[string]cfnTable
	if err := yaml.Unmarshal([]byte(block), &res); err != nil {
		tb.Fatalf("docs/dynamodb.md yaml: %v", err)
	}
	if len(res) != 1 {
		tb.Fatalf("docs/dynamodb.md yaml has %d resources, want 1", len(res))
	}
	for _, t := range res {
		return t
	}
	panic("unreachable")
}

func TestDocsTableMatchesTableInput(t *testing.T) { checkTable(t, docsTable(t)) }

// TestTemplateTableMatchesTableInput: template.yaml's table is the one DynamoDB Local and the
// tests create.
func TestTemplateTableMatchesTableInput(t *testing.T) {
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Resources map[string]cfnTable `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(b, &tpl); err != nil {
		t.Fatal(err)
	}
	tb, ok := tpl.Resources["CadreTable"]
	if !ok {
		t.Fatal("template.yaml has no CadreTable")
	}
	checkTable(t, tb)
}

func checkTable(t *testing.T, got cfnTable) {
	t.Helper()
	in := dynamo.TableInput("x")
	p := got.Properties

	if got, want := got.Type, "AWS::DynamoDB::Table"; got != want {
		t.Fatalf("Type=%q, want %q", got, want)
	}
	if got.DeletionPolicy != "Retain" || got.UpdateReplacePolicy != "Retain" {
		t.Fatalf("DeletionPolicy=%q UpdateReplacePolicy=%q, want Retain", got.DeletionPolicy, got.UpdateReplacePolicy)
	}
	if !p.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled || !p.SSESpecification.SSEEnabled {
		t.Fatal("PITR and SSE must be enabled")
	}
	if got, want := p.BillingMode, string(in.BillingMode); got != want {
		t.Fatalf("BillingMode=%q, want %q", got, want)
	}
	if got, want := p.StreamSpecification.StreamViewType, string(in.StreamSpecification.StreamViewType); got != want {
		t.Fatalf("StreamViewType=%q, want %q", got, want)
	}
	var gotDefs, wantDefs []string
	for _, d := range p.AttributeDefinitions {
		gotDefs = append(gotDefs, d.AttributeName+" "+d.AttributeType)
	}
	for _, d := range in.AttributeDefinitions {
		wantDefs = append(wantDefs, aws.ToString(d.AttributeName)+" "+string(d.AttributeType))
	}
	if !reflect.DeepEqual(gotDefs, wantDefs) {
		t.Fatalf("AttributeDefinitions=%v, want %v", gotDefs, wantDefs)
	}
	keys := func(ks []cfnKey) []string {
		var out []string
		for _, k := range ks {
			out = append(out, k.AttributeName+" "+k.KeyType)
		}
		return out
	}
	var wantKeys []string
	for _, k := range in.KeySchema {
		wantKeys = append(wantKeys, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
	}
	if got := keys(p.KeySchema); !reflect.DeepEqual(got, wantKeys) {
		t.Fatalf("KeySchema=%v, want %v", got, wantKeys)
	}
	if got, want := len(p.GlobalSecondaryIndexes), len(in.GlobalSecondaryIndexes); got != want {
		t.Fatalf("%d GSIs, want %d", got, want)
	}
	for i, g := range in.GlobalSecondaryIndexes {
		d := p.GlobalSecondaryIndexes[i]
		if got, want := d.IndexName, aws.ToString(g.IndexName); got != want {
			t.Fatalf("GSI %d name=%q, want %q", i, got, want)
		}
		var wantKeys []string
		for _, k := range g.KeySchema {
			wantKeys = append(wantKeys, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
		}
		if got := keys(d.KeySchema); !reflect.DeepEqual(got, wantKeys) {
			t.Fatalf("GSI %s KeySchema=%v, want %v", d.IndexName, got, wantKeys)
		}
		if got, want := d.Projection.ProjectionType, string(g.Projection.ProjectionType); got != want {
			t.Fatalf("GSI %s projection=%q, want %q", d.IndexName, got, want)
		}
	}
}
