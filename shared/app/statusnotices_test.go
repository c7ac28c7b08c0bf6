package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/bolt"
	"github.com/cadre-training/cadretrain/shared/training"
)

// countingStore is the embedded store counting the snapshots it decodes for a caller
// (GetSnapshot) and the statuses handed to PutSnapshots; everything else, SnapshotUnlessSame
// included, is the store's own.
type countingStore struct {
	*bolt.Store
	gets, handed int
}

func (s *countingStore) PutSnapshots(ctx context.Context, sts []training.Status) (int, error) {
	s.handed += len(sts)
	return s.Store.PutSnapshots(ctx, sts)
}

func (s *countingStore) GetSnapshot(ctx context.Context, cadreID string) (training.Status, error) {
	s.gets++
	return s.Store.GetSnapshot(ctx, cadreID)
}

// deliveries lists the queued notices per subscription, as "cadre type/requirement id", sorted.
func deliveries(t *testing.T, s *app.Service) map[string][]string {
	t.Helper()
	docs, _, err := s.Store.ListDocs(context.Background(), training.DocDelivery, "", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, doc := range docs {
		d, err := training.UnmarshalDelivery(doc)
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Data app.RequirementNoticeData `json:"data"`
		}
		if err := json.Unmarshal(d.Payload, &p); err != nil {
			t.Fatal(err)
		}
		out[d.SubscriptionID] = append(out[d.SubscriptionID], p.Data.CadreID+" "+d.Type+"/"+p.Data.Requirement.ID)
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}

// TestStatusNotices: docs/rules.md “Notices” — a requirement that turns at_risk or unmet is told
// to the subscriptions that want that event for the cadre's unit; a recompute that finds the
// status the snapshot already says tells nothing (a subscription made since gets nothing), and
// on the embedded store decodes no snapshot to find that out (the stored bytes are compared:
// SnapshotUnlessSame); a cadre of a unit nobody subscribed to queues nothing; a status that
// differs from the snapshot is told again (to the late subscription; the first one has the
// same events already).
func TestStatusNotices(t *testing.T) {
	ctx := context.Background()
	st := &countingStore{Store: openBolt(t)}
	s := app.New(st)
	clock := time.Date(2025, 6, 30, 4, 0, 0, 0, time.UTC) // 12:00 in Beijing
	s.Now = func() time.Time { return clock }
	subscribe := func(id string) {
		t.Helper()
		if _, _, err := s.PutSubscription(ctx, nil, id, app.SubscriptionInput{URL: "https://hr.example/hook",
			Events: []string{training.EventRequirementAtRisk, training.EventRequirementUnmet}, Unit: "cn/cq/a"}); err != nil {
			t.Fatal(err)
		}
	}
	subscribe("sub-a")
	for id, unit := range map[string]string{"a-1": "cn/cq/a", "b-1": "cn/cq/b"} {
		mustPut(t, s, id, app.ProfileInput{Name: "甲", Unit: unit, Rank: "staff_1", RankEffectiveOn: training.MustDate("2020-01-01")})
	}
	first, err := s.Recompute(ctx, "a-1", training.Date{})
	if err != nil {
		t.Fatal(err)
	}
	var told []string // what a-1's status tells: each requirement at_risk or unmet
	for _, r := range first.Requirements {
		if r.State == training.StateAtRisk || r.State == training.StateUnmet {
			told = append(told, "a-1 requirement."+string(r.State)+"/"+r.ID)
		}
	}
	slices.Sort(told)
	if len(told) == 0 {
		t.Fatalf("no requirement at risk or unmet for a cadre without training: %+v", first.Requirements)
	}

	for _, tc := range []struct {
		name    string
		prepare func()
		cadre   string
		want    map[string][]string
	}{
		{"OtherUnitFirstStatus", nil, "b-1", map[string][]string{"sub-a": told}},
		{"SameStatusAgain", nil, "a-1", map[string][]string{"sub-a": told}},
		{"SameStatusLaterSubscriber", func() { subscribe("sub-late"); clock = clock.Add(time.Hour) }, "a-1",
			map[string][]string{"sub-a": told}},
		{"OtherUnitSameStatus", nil, "b-1", map[string][]string{"sub-a": told}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.prepare != nil {
				tc.prepare()
			}
			st.gets = 0
			if _, err := s.Recompute(ctx, tc.cadre, training.Date{}); err != nil {
				t.Fatal(err)
			}
			if got := deliveries(t, s); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("queued notices %v, want %v", got, tc.want)
			}
			if st.gets != 0 {
				t.Fatalf("%d snapshots decoded through GetSnapshot, want none", st.gets)
			}
		})
	}

	t.Run("ChangedStatus", func(t *testing.T) {
		// The stored snapshot says on track (as if a-1 had trained); the recompute finds otherwise.
		snap, err := s.Store.GetSnapshot(ctx, "a-1")
		if err != nil {
			t.Fatal(err)
		}
		for i := range snap.Requirements {
			snap.Requirements[i].State = training.StateOnTrack
		}
		clock = clock.Add(time.Hour)
		snap.ComputedAt = clock
		if err := s.Store.PutSnapshot(ctx, snap); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(time.Hour)
		if _, err := s.Recompute(ctx, "a-1", training.Date{}); err != nil {
			t.Fatal(err)
		}
		if got, want := deliveries(t, s), map[string][]string{"sub-a": told, "sub-late": told}; !reflect.DeepEqual(got, want) {
			t.Fatalf("queued notices %v, want %v", got, want)
		}
	})
}

// TestRecomputeUnitHandsOverOnlyChanged: a fan-out on the embedded store hands PutSnapshots only
// the statuses that differ from the stored snapshots (the store compared them as bytes while the
// notices were looked for), so a recompute that changes nothing opens no write transaction for
// snapshots; a changed cadre is still stored.
func TestRecomputeUnitHandsOverOnlyChanged(t *testing.T) {
	ctx := context.Background()
	st := &countingStore{Store: openBolt(t)}
	s := app.New(st)
	s.Now = func() time.Time { return now }
	for i := range 30 {
		mustPut(t, s, fmt.Sprintf("c-%02d", i), app.ProfileInput{Name: "甲", Unit: "cn/cq/a", Rank: "staff_1", RankEffectiveOn: training.MustDate("2020-01-01")})
	}
	for _, tc := range []struct {
		name           string
		change         func()
		handed, stored int
	}{
		{"First", nil, 30, 30},
		{"NothingChanged", nil, 0, 0},
		{"OneTrained", func() { submit(t, s, online("c-07", "o1", "2025-06-01", training.HoursOf(50))) }, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.change != nil {
				tc.change()
			}
			st.handed = 0
			before := map[string]time.Time{}
			for i := range 30 {
				id := fmt.Sprintf("c-%02d", i)
				if snap, err := st.GetSnapshot(ctx, id); err == nil {
					before[id] = snap.ComputedAt
				}
			}
			s.Now = func() time.Time { return now.Add(time.Duration(len(tc.name)) * time.Minute) }
			res, err := s.RecomputeUnit(ctx, "cn/cq", training.Date{}, 2, nil)
			if err != nil || res.Recomputed != 30 || res.Failed != 0 {
				t.Fatalf("RecomputeUnit: %+v, %v", res, err)
			}
			stored := 0
			for i := range 30 {
				id := fmt.Sprintf("c-%02d", i)
				snap, err := st.GetSnapshot(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if at, ok := before[id]; !ok || !at.Equal(snap.ComputedAt) {
					stored++
				}
			}
			if st.handed != tc.handed || stored != tc.stored {
				t.Fatalf("handed %d statuses to PutSnapshots, %d stored; want %d, %d", st.handed, stored, tc.handed, tc.stored)
			}
		})
	}
}
