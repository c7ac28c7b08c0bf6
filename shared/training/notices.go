package training

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
)

// Event types a subscription can ask for (docs/api.md “Notices”).
const (
	EventRequirementAtRisk   = "requirement.at_risk"         // a requirement turned at_risk
	EventRequirementUnmet    = "requirement.unmet"           // a requirement turned unmet
	EventPromotionDueSoon    = "promotion_training.due_soon" // 任职培训 not met, deadline within 60 days
	EventCallNotice          = "class.call_notice"           // a cadre was called to a filed class (调训通知)
	EventAbsentWithoutReason = "class.absent_without_reason" // a called cadre missed a class without approved leave
	EventWeeklyDigest        = "digest.weekly"               // the weekly 通报 of a unit
)

// EventTypes lists every event type, in the order docs/api.md gives them.
var EventTypes = []string{EventRequirementAtRisk, EventRequirementUnmet, EventPromotionDueSoon,
	EventCallNotice, EventAbsentWithoutReason, EventWeeklyDigest}

// PromotionNoticeDays is how close a promotion-training deadline must be for its notice.
const PromotionNoticeDays = 60

// RetrySchedule is the delay before each delivery attempt after the first fails (Svix's
// schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h): eight attempts over 27 h 35 min.
var RetrySchedule = []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// Subscription is an HR system's or messaging platform's request to be told of events.
type Subscription struct {
	ID     string   `json:"subscription_id"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
	// Unit limits the events to cadres (and classes, digests) in this unit subtree; "" is all.
	Unit        string `json:"unit"`
	Description string `json:"description,omitempty"`
	Disabled    bool   `json:"disabled"`
	// Secret signs the deliveries (Standard Webhooks, whsec_…).
	Secret    string    `json:"secret"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int64     `json:"version"`
}

// Wants reports whether the subscription takes an event of type typ about unit.
func (s Subscription) Wants(typ, unit string) bool {
	if s.Disabled {
		return false
	}
	for _, e := range s.Events {
		if e == typ {
			return InUnit(unit, s.Unit)
		}
	}
	return false
}

// Event is something to tell subscribers. ID is derived from what happened, so the same
// happening found again (a replayed change, a repeated daily run) is the same event.
type Event struct {
	ID        string          `json:"event_id"`
	Type      string          `json:"type"`
	Unit      string          `json:"unit"`
	CadreID   string          `json:"cadre_id,omitempty"`
	Data      json.RawMessage `json:"data"`
	Timestamp time.Time       `json:"timestamp"`
}

// EventID derives an event id from the parts that identify what happened.
func EventID(typ string, parts ...string) string {
	sum := sha256.Sum256([]byte(typ + "\x00" + strings.Join(parts, "\x00")))
	return "evt_" + hex.EncodeToString(sum[:12])
}

// DeliveryID is the id of the delivery of an event to a subscription: the webhook-id header, the
// same on every attempt and replay, so a receiver can drop a repeat.
func DeliveryID(subscriptionID, eventID string) string {
	sum := sha256.Sum256([]byte(subscriptionID + "\x00" + eventID))
	return "msg_" + hex.EncodeToString(sum[:12])
}

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

const (
	DeliveryPending   DeliveryStatus = "pending"   // in the outbox: to be attempted at NextAttemptAt
	DeliveryDelivered DeliveryStatus = "delivered" // the receiver answered 2xx
	DeliveryFailed    DeliveryStatus = "failed"    // every attempt of the schedule failed (replay sends it again)
)

// Delivery is one event for one subscription, with every attempt: the delivery log.
type Delivery struct {
	ID             string          `json:"delivery_id"`
	SubscriptionID string          `json:"subscription_id"`
	EventID        string          `json:"event_id"`
	Type           string          `json:"type"`
	Payload        json.RawMessage `json:"payload"` // the body POSTed
	Status         DeliveryStatus  `json:"status"`
	Attempts       []Attempt       `json:"attempts"`
	// Round counts the schedule's attempts since creation or the last replay.
	Round         int       `json:"-"`
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	CreatedAt     time.Time `json:"created_at"`
	Version       int64     `json:"-"`
}

// deliveryDoc is Delivery as stored (Round kept).
type deliveryDoc struct {
	Delivery
	Round int `json:"round"`
}

// MarshalDelivery encodes a delivery for the store.
func MarshalDelivery(d Delivery) json.RawMessage {
	b, _ := json.Marshal(deliveryDoc{Delivery: d, Round: d.Round})
	return b
}

// UnmarshalDelivery decodes a stored delivery.
func UnmarshalDelivery(doc Doc) (Delivery, error) {
	var dd deliveryDoc
	if err := json.Unmarshal(doc.Body, &dd); err != nil {
		return Delivery{}, err
	}
	d := dd.Delivery
	d.Round, d.Version = dd.Round, doc.Version
	return d, nil
}

// Attempt is one POST of a delivery.
type Attempt struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code,omitempty"` // the receiver's answer; 0 when none came
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
	Trigger    string    `json:"trigger"` // "schedule" or "replay"
}

// Due is an outbox entry: a pending delivery and when to attempt it.
type Due struct {
	At time.Time `json:"at"`
}

// DeliveryKey is the DocDelivery/DocDue id of a delivery.
func DeliveryKey(subscriptionID, deliveryID string) string { return subscriptionID + "/" + deliveryID }
