package localrun

import (
	"strings"
	"testing"
)

// The two patterns of template.yaml, verbatim.
const (
	recordChangesPattern  = `{"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "CADRE#"}]}, "sk": {"S": [{"prefix": "REC#"}]}}}}`
	fullTimeRecordPattern = `{"eventName": ["INSERT", "MODIFY"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "CADRE#"}]}, "sk": {"S": [{"prefix": "REC#"}]}}, "NewImage": {"full_time": {"BOOL": [true]}}}}`
)

func streamRecord(eventName, pk, sk, newImage string) string {
	r := `{"eventID":"1","eventName":"` + eventName + `","eventSource":"aws:dynamodb","dynamodb":{"Keys":{"pk":{"S":"` + pk + `"},"sk":{"S":"` + sk + `"}}`
	if newImage != "" {
		r += `,"NewImage":` + newImage
	}
	return r + `,"SequenceNumber":"1","StreamViewType":"NEW_AND_OLD_IMAGES"}}`
}

func TestFilterTemplatePatterns(t *testing.T) {
	fullTime := `{"pk":{"S":"CADRE#c1"},"sk":{"S":"REC#r1"},"full_time":{"BOOL":true}}`
	partTime := `{"pk":{"S":"CADRE#c1"},"sk":{"S":"REC#r1"},"full_time":{"BOOL":false}}`
	online := `{"pk":{"S":"CADRE#c1"},"sk":{"S":"REC#r1"}}`
	for _, tc := range []struct {
		name, pattern, event string
		want                 bool
	}{
		{"RecordInsert", recordChangesPattern, streamRecord("INSERT", "CADRE#c1", "REC#r1", online), true},
		{"RecordModify", recordChangesPattern, streamRecord("MODIFY", "CADRE#c1", "REC#r1", online), true},
		{"SnapshotItem", recordChangesPattern, streamRecord("MODIFY", "CADRE#c1", "SNAP", online), false},
		{"FormEntryItem", recordChangesPattern, streamRecord("INSERT", "CADRE#c1", "FORM#appraisal#r1", online), false},
		{"KeyItem", recordChangesPattern, streamRecord("INSERT", "RECKEY#r1", "REC#r1", online), false},
		{"PrefixIsCaseSensitive", recordChangesPattern, streamRecord("INSERT", "cadre#c1", "REC#r1", online), false},
		{"FullTimeInsert", fullTimeRecordPattern, streamRecord("INSERT", "CADRE#c1", "REC#r1", fullTime), true},
		{"FullTimeModify", fullTimeRecordPattern, streamRecord("MODIFY", "CADRE#c1", "REC#r1", fullTime), true},
		{"FullTimeRemove", fullTimeRecordPattern, streamRecord("REMOVE", "CADRE#c1", "REC#r1", fullTime), false},
		{"PartTime", fullTimeRecordPattern, streamRecord("INSERT", "CADRE#c1", "REC#r1", partTime), false},
		{"NoFullTimeAttribute", fullTimeRecordPattern, streamRecord("INSERT", "CADRE#c1", "REC#r1", online), false},
		{"NoNewImage", fullTimeRecordPattern, streamRecord("MODIFY", "CADRE#c1", "REC#r1", ""), false},
		{"BoolIsNotString", `{"a": [true]}`, `{"a": "true"}`, false},
		{"StringIsNotBool", `{"a": ["true"]}`, `{"a": true}`, false},
		{"NumberEquality", `{"n": [5]}`, `{"n": 5.0}`, true},
		{"NumberInequality", `{"n": [5]}`, `{"n": 6}`, false},
		{"Null", `{"n": [null]}`, `{"n": null}`, true},
		{"NullIsNotAbsent", `{"n": [null]}`, `{}`, false},
		{"ArrayValueAnyElement", `{"tags": ["b"]}`, `{"tags": ["a", "b"]}`, true},
		{"ArrayValueNoElement", `{"tags": ["c"]}`, `{"tags": ["a", "b"]}`, false},
		{"NestedNeedsObject", `{"a": {"b": ["x"]}}`, `{"a": "x"}`, false},
		{"NotAnObject", `{"a": ["x"]}`, `["x"]`, false},
		{"NotJSON", `{"a": ["x"]}`, `{`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := CompileFilter(tc.pattern)
			if err != nil {
				t.Fatalf("CompileFilter: %v", err)
			}
			if got := f.Match([]byte(tc.event)); got != tc.want {
				t.Fatalf("Match(%s)=%v, want %v", tc.event, got, tc.want)
			}
		})
	}
}

func TestFilterUnsupportedSyntaxFails(t *testing.T) {
	for name, pattern := range map[string]string{
		"AnythingBut":      `{"a": [{"anything-but": ["x"]}]}`,
		"Numeric":          `{"a": [{"numeric": [">", 0]}]}`,
		"Exists":           `{"a": [{"exists": true}]}`,
		"Suffix":           `{"a": [{"suffix": "x"}]}`,
		"EqualsIgnoreCase": `{"a": [{"equals-ignore-case": "x"}]}`,
		"Wildcard":         `{"a": [{"wildcard": "x*"}]}`,
		"Or":               `{"$or": [{"a": ["x"]}, {"b": ["y"]}]}`,
		"PrefixNotString":  `{"a": [{"prefix": 1}]}`,
		"PrefixWithOption": `{"a": [{"prefix": "x", "suffix": "y"}]}`,
		"ScalarValue":      `{"a": "x"}`,
		"EmptyArray":       `{"a": []}`,
		"EmptyObject":      `{}`,
		"NotObject":        `["x"]`,
		"NotJSON":          `{"a": [`,
		"TrailingData":     `{"a": ["x"]} {}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := CompileFilter(pattern); err == nil {
				t.Fatalf("CompileFilter(%s) succeeded; want an error", pattern)
			}
		})
	}
}

func TestFiltersAnyMatches(t *testing.T) {
	fs, err := CompileFilters([]string{`{"a": ["x"]}`, `{"b": [{"prefix": "y"}]}`})
	if err != nil {
		t.Fatal(err)
	}
	for ev, want := range map[string]bool{`{"a": "x"}`: true, `{"b": "yes"}`: true, `{"a": "y", "b": "no"}`: false} {
		if got := fs.Match([]byte(ev)); got != want {
			t.Errorf("Match(%s)=%v, want %v", ev, got, want)
		}
	}
	if !(Filters{}).Match([]byte(`{}`)) {
		t.Error("no filters must let everything through")
	}
	if _, err := CompileFilters([]string{`{"a": ["x"]}`, `{"a": [{"numeric": [">", 1]}]}`}); err == nil || !strings.Contains(err.Error(), "numeric") {
		t.Errorf("CompileFilters with an unsupported pattern: err=%v, want one naming \"numeric\"", err)
	}
}
