package dynamo_test

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cadre-training/cadretrain/shared/dynamo"
	"github.com/cadre-training/cadretrain/shared/training"
)

// MustFixture reads aws-lambda-go's events/testdata/dynamodb-event.json (copied to testdata/).
func MustFixture(tb testing.TB) events.DynamoDBEvent {
	tb.Helper()
	b, err := os.ReadFile("testdata/dynamodb-event.json")
	if err != nil {
		tb.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		tb.Fatalf("unmarshal fixture: %v", err)
	}
	return ev
}

func TestEventAttributesRoundTrip(t *testing.T) {
	ev := MustFixture(t)
	if len(ev.Records) == 0 {
		t.Fatal("fixture has no records")
	}
	for _, r := range ev.Records {
		for name, img := range map[string]map[string]events.DynamoDBAttributeValue{
			"Keys": r.Change.Keys, "NewImage": r.Change.NewImage, "OldImage": r.Change.OldImage,
		} {
			t.Run(r.EventID+"/"+name, func(t *testing.T) {
				sdk, err := dynamo.FromEventAttributes(img)
				if err != nil {
					t.Fatalf("FromEventAttributes: %v", err)
				}
				back, err := dynamo.ToEventAttributes(sdk)
				if err != nil {
					t.Fatalf("ToEventAttributes: %v", err)
				}
				want, _ := json.Marshal(img)
				got, _ := json.Marshal(back)
				if string(got) != string(want) {
					t.Fatalf("round trip=%s, want %s", got, want)
				}
			})
		}
	}
}

func TestEventAttributeKinds(t *testing.T) {
	all := map[string]types.AttributeValue{
		"s":    &types.AttributeValueMemberS{Value: "中文"},
		"n":    &types.AttributeValueMemberN{Value: "64.5"},
		"b":    &types.AttributeValueMemberB{Value: []byte{0, 1, 2}},
		"bool": &types.AttributeValueMemberBOOL{Value: true},
		"null": &types.AttributeValueMemberNULL{Value: true},
		"ss":   &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"ns":   &types.AttributeValueMemberNS{Value: []string{"1", "0.01"}},
		"bs":   &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2}}},
		"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{
			&types.AttributeValueMemberS{Value: "x"}, &types.AttributeValueMemberN{Value: "1"},
		}},
		"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"inner": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}},
		}},
		"emptyList": &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
	}
	ev, err := dynamo.ToEventAttributes(all)
	if err != nil {
		t.Fatalf("ToEventAttributes: %v", err)
	}
	// Through JSON, as a Lambda receives it.
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var decoded map[string]events.DynamoDBAttributeValue
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	back, err := dynamo.FromEventAttributes(decoded)
	if err != nil {
		t.Fatalf("FromEventAttributes: %v", err)
	}
	if !reflect.DeepEqual(back, all) {
		t.Fatalf("round trip=%#v, want %#v", back, all)
	}
}

func TestChangeFromEventRecordSkipsOtherItems(t *testing.T) {
	for _, r := range MustFixture(t).Records {
		_, ok, err := dynamo.ChangeFromEventRecord(r)
		if err != nil {
			t.Fatalf("ChangeFromEventRecord(%s): %v", r.EventID, err)
		}
		if ok {
			t.Fatalf("ChangeFromEventRecord(%s) took a non-record item for a change", r.EventID)
		}
	}
}

// sampleRecord fills every field, times in UTC at second precision (the precision of the
// ApproximateCreationDateTime a Lambda event carries in JSON).
func sampleRecord() training.Record {
	r := training.Record{
		CadreID: "c-001", Source: "platform/p1", ExternalID: "evt-9f2", SourceSystem: "elearn",
		Kind: training.KindCentralized, FullTime: true, CourseID: "cls-2024-07", CourseTitle: "中青年干部培训班",
		Institution: "中央党校（国家行政学院）", InstitutionType: "party_school",
		StartDate: training.MustDate("2024-03-01"), EndDate: training.MustDate("2024-04-30"),
		Days: training.WholeDays(61), Hours: 32050, CompletedAt: time.Date(2024, 4, 30, 9, 0, 0, 0, time.UTC),
		Assessment: training.AssessmentPassed, Status: training.StatusActive,
		CreatedAt: time.Date(2024, 5, 1, 1, 2, 3, 456_000_000, time.UTC),
	}
	r.Seal()
	return r
}

func TestChangeEventRoundTrip(t *testing.T) {
	old := sampleRecord()
	voided := old
	voided.Status = training.StatusVoided
	voided.Void = &training.Voiding{Reason: "entered twice", By: "hr-admin", At: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)}
	at := time.Unix(1717200000, 0).UTC()
	for _, c := range []training.Change{
		{Seq: "000000000000000000001", Kind: training.ChangeInsert, CadreID: old.CadreID, RecordID: old.ID, New: &old, At: at},
		{Seq: "000000000000000000002", Kind: training.ChangeModify, CadreID: old.CadreID, RecordID: old.ID, Old: &old, New: &voided, At: at},
	} {
		t.Run(string(c.Kind), func(t *testing.T) {
			rec, err := dynamo.EventRecordFromChange(c, "cadretrain")
			if err != nil {
				t.Fatalf("EventRecordFromChange: %v", err)
			}
			if got, want := rec.EventName, string(c.Kind); got != want {
				t.Fatalf("EventName=%q, want %q", got, want)
			}
			if got, want := rec.EventSource, "aws:dynamodb"; got != want {
				t.Fatalf("EventSource=%q, want %q", got, want)
			}
			if got, want := rec.Change.StreamViewType, "NEW_AND_OLD_IMAGES"; got != want {
				t.Fatalf("StreamViewType=%q, want %q", got, want)
			}
			if got, want := rec.Change.Keys["pk"].String(), "CADRE#c-001"; got != want {
				t.Fatalf("Keys.pk=%q, want %q", got, want)
			}
			if got, want := rec.Change.OldImage != nil, c.Old != nil; got != want {
				t.Fatalf("OldImage present=%v, want %v", got, want)
			}
			if got, want := rec.Change.NewImage["hours"].Number(), "320.5"; got != want {
				t.Fatalf("NewImage.hours=%q, want %q (an exact decimal)", got, want)
			}
			// Whole days stay the number items always held (61), so items written before half
			// days read back unchanged (docs/rules.md “Half days”).
			if got, want := rec.Change.NewImage["days"].Number(), "61"; got != want {
				t.Fatalf("NewImage.days=%q, want %q", got, want)
			}
			t.Run("InMemory", func(t *testing.T) {
				got, ok, err := dynamo.ChangeFromEventRecord(rec)
				if err != nil || !ok {
					t.Fatalf("ChangeFromEventRecord: ok=%v, err=%v", ok, err)
				}
				sameChange(t, got, c)
			})
			t.Run("ThroughJSON", func(t *testing.T) {
				b, err := json.Marshal(events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{rec}})
				if err != nil {
					t.Fatal(err)
				}
				var ev events.DynamoDBEvent
				if err := json.Unmarshal(b, &ev); err != nil {
					t.Fatal(err)
				}
				got, ok, err := dynamo.ChangeFromEventRecord(ev.Records[0])
				if err != nil || !ok {
					t.Fatalf("ChangeFromEventRecord: ok=%v, err=%v", ok, err)
				}
				sameChange(t, got, c)
			})
		})
	}
}

func sameChange(tb testing.TB, got, want training.Change) {
	tb.Helper()
	if !got.At.Equal(want.At) {
		tb.Fatalf("At=%v, want %v", got.At, want.At)
	}
	got.At, want.At = time.Time{}, time.Time{}
	norm := func(r *training.Record) {
		if r == nil {
			return
		}
		r.CompletedAt, r.CreatedAt = r.CompletedAt.UTC(), r.CreatedAt.UTC()
		if r.Void != nil {
			v := *r.Void
			v.At = v.At.UTC()
			r.Void = &v
		}
	}
	norm(got.Old)
	norm(got.New)
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		tb.Fatalf("change=%s\nwant   %s", g, w)
	}
}

func TestEventRecordFromChangeRejectsIncomplete(t *testing.T) {
	r := sampleRecord()
	for name, c := range map[string]training.Change{
		"InsertWithoutNew": {Kind: training.ChangeInsert},
		"ModifyWithoutOld": {Kind: training.ChangeModify, New: &r},
		"Remove":           {Kind: "REMOVE", New: &r},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := dynamo.EventRecordFromChange(c, "t"); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// TestStreamEventFixture keeps shared/awsboot/testdata/record-stream-event.json, the stream batch
// the Lambda adapters' tests decode (an INSERT of a full-time training and its MODIFY to voided,
// as DynamoDB delivers them for the items this store writes), equal to what the codec produces.
// UPDATE_FIXTURES=1 rewrites it.
func TestStreamEventFixture(t *testing.T) {
	old := sampleRecord()
	voided := old
	voided.Status = training.StatusVoided
	voided.Void = &training.Voiding{Reason: "entered twice", By: "hr-admin", At: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)}
	at := time.Unix(1717200000, 0).UTC()
	var ev events.DynamoDBEvent
	for _, c := range []training.Change{
		{Seq: "000000000000000000001", Kind: training.ChangeInsert, CadreID: old.CadreID, RecordID: old.ID, New: &old, At: at},
		{Seq: "000000000000000000002", Kind: training.ChangeModify, CadreID: old.CadreID, RecordID: old.ID, Old: &old, New: &voided, At: at},
	} {
		rec, err := dynamo.EventRecordFromChange(c, "cadretrain")
		if err != nil {
			t.Fatal(err)
		}
		ev.Records = append(ev.Records, rec)
	}
	want, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	const path = "../awsboot/testdata/record-stream-event.json"
	if os.Getenv("UPDATE_FIXTURES") == "1" {
		if err := os.WriteFile(path, append(want, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(bytes.TrimSpace(got)) != string(want) {
		t.Fatalf("%s is stale; rerun with UPDATE_FIXTURES=1", path)
	}
}

// docs/rules.md “Half days”: a record of 60.5 days is the number 60.5 in the item and its stream
// image, and reads back exactly.
func TestChangeEventHalfDays(t *testing.T) {
	r := sampleRecord()
	r.Days = training.DaysFromHalves(121)
	r.Seal()
	c := training.Change{Seq: "000000000000000000003", Kind: training.ChangeInsert, CadreID: r.CadreID, RecordID: r.ID, New: &r, At: time.Unix(1717200000, 0).UTC()}
	rec, err := dynamo.EventRecordFromChange(c, "cadretrain")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rec.Change.NewImage["days"].Number(), "60.5"; got != want {
		t.Fatalf("NewImage.days=%q, want %q", got, want)
	}
	got, ok, err := dynamo.ChangeFromEventRecord(rec)
	if err != nil || !ok {
		t.Fatalf("ChangeFromEventRecord: ok=%v, err=%v", ok, err)
	}
	if got.New.Days != r.Days {
		t.Fatalf("days read back %s, want %s", got.New.Days, r.Days)
	}
	rec.Change.NewImage["days"] = events.NewNumberAttribute("2.25")
	if _, _, err := dynamo.ChangeFromEventRecord(rec); err == nil {
		t.Fatal("an image with 2.25 days was read, want an error")
	}
}
