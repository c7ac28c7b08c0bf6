package samtemplate

import (
	"encoding/json"
	"reflect"
	"testing"
)

const sample = `
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: provided.al2023
    Architectures: [arm64]
    Timeout: 10
    Environment:
      Variables:
        TABLE_NAME: !Ref Table
        MODE: global
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  Fn:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: go1.x
    Properties:
      CodeUri: functions/some-fn/
      FunctionName: !Sub "${AWS::StackName}-x"
      Timeout: 30
      Environment:
        Variables:
          MODE: local
          ARN: {"Fn::GetAtt": [Table, Arn]}
          JOINED: !Join [",", [a, !Ref B]]
      Events:
        Get:
          Type: HttpApi
          Properties: {Method: get, Path: "/v1/x/{id}"}
        Default:
          Type: HttpApi
        Stream:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Table.StreamArn
            StartingPosition: LATEST
            BisectBatchOnFunctionError: "true"
            FilterCriteria:
              Filters:
                - Pattern: '{"eventName": ["INSERT"]}'
        Nightly:
          Type: Schedule
          Properties: {Schedule: "cron(0 18 * * ? *)", Enabled: false}
`

func TestParse(t *testing.T) {
	tpl, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	f, ok := tpl.Function("some-fn")
	if !ok {
		t.Fatalf("function some-fn not found in %+v", tpl.Functions)
	}
	t.Run("Globals", func(t *testing.T) {
		if got, want := f.Timeout, 30; got != want {
			t.Errorf("Timeout=%d, want %d (the function's value wins)", got, want)
		}
		if got, want := f.Runtime, "provided.al2023"; got != want {
			t.Errorf("Runtime=%q, want %q", got, want)
		}
		if got, want := f.Architectures, []string{"arm64"}; !reflect.DeepEqual(got, want) {
			t.Errorf("Architectures=%q, want %q", got, want)
		}
		want := map[string]string{"TABLE_NAME": "!Ref Table", "MODE": "local", "ARN": "!GetAtt Table.Arn", "JOINED": `!Join [",",["a","!Ref B"]]`}
		if !reflect.DeepEqual(f.Environment, want) {
			t.Errorf("Environment=%q, want %q", f.Environment, want)
		}
	})
	t.Run("Scalars", func(t *testing.T) {
		if got, want := f.FunctionName, "!Sub ${AWS::StackName}-x"; got != want {
			t.Errorf("FunctionName=%q, want %q", got, want)
		}
		if got, want := f.BuildMethod, "go1.x"; got != want {
			t.Errorf("BuildMethod=%q, want %q", got, want)
		}
		if got, want := f.AsyncRetries, 2; got != want {
			t.Errorf("AsyncRetries=%d, want Lambda's default %d", got, want)
		}
	})
	t.Run("Routes", func(t *testing.T) {
		want := []Route{{"ANY", "$default", "some-fn"}, {"GET", "/v1/x/{id}", "some-fn"}}
		if got := tpl.Routes(); !reflect.DeepEqual(got, want) {
			t.Errorf("Routes()=%+v, want %+v", got, want)
		}
	})
	t.Run("Stream", func(t *testing.T) {
		cs := tpl.StreamConsumers()
		if len(cs) != 1 {
			t.Fatalf("StreamConsumers()=%+v, want 1", cs)
		}
		c := cs[0]
		if c.Table != "Table" || c.Stream != "!GetAtt Table.StreamArn" || !c.BisectBatchOnFunctionError ||
			c.MaximumRetryAttempts != -1 || c.ReportsBatchItemFailures() ||
			!reflect.DeepEqual(c.Filters, []string{`{"eventName": ["INSERT"]}`}) {
			t.Errorf("consumer=%+v", c)
		}
	})
	t.Run("Schedule", func(t *testing.T) {
		want := []Schedule{{Function: "some-fn", Event: "Nightly", Type: "Schedule", Expression: "cron(0 18 * * ? *)"}}
		if got := tpl.Schedules(); !reflect.DeepEqual(got, want) {
			t.Errorf("Schedules()=%+v, want %+v", got, want)
		}
		if got, want := want[0].Source(), "aws.events"; got != want {
			t.Errorf("Source()=%q, want %q", got, want)
		}
	})
	t.Run("Table", func(t *testing.T) {
		tb, ok := tpl.Table("Table")
		if !ok || tb.StreamViewType != "NEW_IMAGE" || !reflect.DeepEqual(tb.KeySchema, []KeyElement{{"pk", "HASH"}}) {
			t.Errorf("Table=%+v, %v", tb, ok)
		}
	})
	t.Run("IntrinsicJSON", func(t *testing.T) {
		b, err := json.Marshal(Intrinsic{Name: "Ref", Arg: "X"})
		if err != nil || string(b) != `{"Ref":"X"}` {
			t.Errorf("MarshalJSON=%s, %v", b, err)
		}
	})
}

func TestParseErrors(t *testing.T) {
	for name, src := range map[string]string{
		"NotYAML":      "Resources: [",
		"NoResources":  "Transform: x\n",
		"NoCodeUri":    "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {}\n",
		"ScalarTop":    "just a string\n",
		"AliasBombish": "a: &a [*a]\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(src)); err == nil {
				t.Errorf("Parse(%q) succeeded, want an error", src)
			}
		})
	}
}
