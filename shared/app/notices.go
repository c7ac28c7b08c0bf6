package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/cadre-training/cadretrain/shared/training"
)

// Notices (docs/api.md “Notices”): subscriptions to events, a durable outbox of deliveries in the
// store (DocDelivery holds each delivery and its attempts, DocDue the pending ones and when to
// try them), Standard Webhooks signatures, retries on training.RetrySchedule, replay by id.
//
// Exactly-once up to the receiver's acknowledgement: an event's id is derived from what happened
// and a delivery's id from the subscription and the event, so an event found again (a replayed
// change, a repeated daily run) creates nothing new. A delivery is written before it is sent and
// marked delivered only after the receiver answered 2xx; a crash in between sends it again with
// the same webhook-id (receivers drop repeats by it), and once marked it is never sent again
// unless an operator replays it.

// SubscriptionInput is a subscription as sent (PUT /v1/subscriptions/{subscription_id}).
type SubscriptionInput struct {
	URL         string
	Events      []string
	Unit        string
	Description string
	Disabled    bool
	Secret      string // optional: whsec_…; generated when absent on creation
}

func newSecret() string {
	b := make([]byte, training.MinSecretBytes)
	_, _ = rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

func checkSubscription(id string, in SubscriptionInput) training.Fields {
	var f training.Fields
	training.CheckID(&f, "subscription_id", id)
	u, err := url.Parse(in.URL)
	switch {
	case in.URL == "":
		f.Add("url", "is required")
	case len(in.URL) > 2048:
		f.Add("url", "must be at most 2048 characters")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		f.Add("url", "must be an absolute http(s) URL")
	}
	if len(in.Events) == 0 {
		f.Add("events", "name at least one of: %s", strings.Join(training.EventTypes, ", "))
	}
	for i, e := range in.Events {
		if !slices.Contains(training.EventTypes, e) {
			f.Add(fmt.Sprintf("events[%d]", i), "unknown event %q; accepted: %s", e, strings.Join(training.EventTypes, ", "))
		}
	}
	if in.Unit != "" {
		if msg := training.CheckUnit(in.Unit); msg != "" {
			f.Add("unit", "%s", msg)
		}
	}
	training.CheckTextField(&f, "description", in.Description, training.MaxTitleRunes, false)
	if in.Secret != "" {
		if msg := training.CheckWebhookSecret(in.Secret); msg != "" {
			f.Add("secret", "%s", msg)
		}
	}
	return f
}

// PutSubscription creates or replaces a subscription (admin). Its unit must be in scope. The
// secret is kept when none is sent; sending the same subscription again changes nothing.
func (s *Service) PutSubscription(ctx context.Context, scope Scope, id string, in SubscriptionInput) (training.Subscription, bool, error) {
	if err := checkSubscription(id, in).Err(); err != nil {
		return training.Subscription{}, false, err
	}
	if !visible(scope, in.Unit) {
		return training.Subscription{}, false, training.Errorf(training.EFORBIDDEN, "unit %q is outside the units of this API key", in.Unit)
	}
	events := slices.Clone(in.Events)
	slices.Sort(events)
	events = slices.Compact(events)
	for attempt := 0; ; attempt++ {
		var cur training.Subscription
		ver, err := s.getDoc(ctx, training.DocSubscription, id, &cur)
		exists := err == nil
		if err != nil && training.ErrorCode(err) != training.ENOTFOUND {
			return cur, false, err
		}
		if exists && !visible(scope, cur.Unit) {
			return training.Subscription{}, false, training.Errorf(training.ENOTFOUND, "subscription %s not found", id)
		}
		next := cur
		now := s.now().UTC()
		if !exists {
			next = training.Subscription{ID: id, CreatedAt: now, Secret: newSecret()}
		}
		secret := next.Secret
		if in.Secret != "" {
			secret = in.Secret
		}
		if exists && cur.URL == in.URL && slices.Equal(cur.Events, events) && cur.Unit == in.Unit &&
			cur.Description == in.Description && cur.Disabled == in.Disabled && cur.Secret == secret {
			cur.Version = ver
			return cur, false, nil
		}
		next.URL, next.Events, next.Unit, next.Description, next.Disabled, next.Secret = in.URL, events, in.Unit, in.Description, in.Disabled, secret
		next.UpdatedAt = now
		nv, err := s.putDoc(ctx, training.DocSubscription, id, next, ver)
		if training.ErrorCode(err) == training.ECONFLICT && attempt < maxDocRetries {
			continue
		}
		next.Version = nv
		return next, !exists, err
	}
}

// GetSubscription returns a subscription whose unit is in scope, else ENOTFOUND.
func (s *Service) GetSubscription(ctx context.Context, scope Scope, id string) (training.Subscription, error) {
	var sub training.Subscription
	ver, err := s.getDoc(ctx, training.DocSubscription, id, &sub)
	if training.ErrorCode(err) == training.ENOTFOUND || err == nil && !visible(scope, sub.Unit) {
		return training.Subscription{}, training.Errorf(training.ENOTFOUND, "subscription %s not found", id)
	}
	sub.Version = ver
	return sub, err
}

// ListSubscriptions lists the subscriptions whose unit is in scope (nil: all), by id.
func (s *Service) ListSubscriptions(ctx context.Context, scope Scope) ([]training.Subscription, error) {
	docs, err := s.listAllDocs(ctx, training.DocSubscription, "")
	if err != nil {
		return nil, err
	}
	out := []training.Subscription{}
	for _, d := range docs {
		var sub training.Subscription
		if err := json.Unmarshal(d.Body, &sub); err != nil {
			return nil, fmt.Errorf("decode subscription %s: %w", d.ID, err)
		}
		sub.Version = d.Version
		if visible(scope, sub.Unit) {
			out = append(out, sub)
		}
	}
	return out, nil
}

// webhookPayload is the body POSTed: the Standard Webhooks payload shape.
type webhookPayload struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	EventID   string          `json:"event_id"`
	Data      json.RawMessage `json:"data"`
}

// emit queues ev for every subscription that wants it. It lists the subscriptions only when
// there is an event, so a cadre without news costs no read.
func (s *Service) emit(ctx context.Context, ev training.Event) error {
	subs, err := s.ListSubscriptions(ctx, nil)
	if err != nil {
		return err
	}
	for _, sub := range subs {
		if sub.Wants(ev.Type, ev.Unit) {
			if err := s.enqueue(ctx, sub, ev); err != nil {
				return err
			}
		}
	}
	return nil
}

// enqueue writes the delivery of ev to sub and its outbox entry, unless the delivery exists:
// then only a pending one missing its outbox entry (a crash between the two writes) gets one.
func (s *Service) enqueue(ctx context.Context, sub training.Subscription, ev training.Event) error {
	now := s.now().UTC()
	payload, _ := json.Marshal(webhookPayload{Type: ev.Type, Timestamp: ev.Timestamp.UTC(), EventID: ev.ID, Data: ev.Data})
	d := training.Delivery{ID: training.DeliveryID(sub.ID, ev.ID), SubscriptionID: sub.ID, EventID: ev.ID, Type: ev.Type,
		Payload: payload, Status: training.DeliveryPending, Attempts: []training.Attempt{}, NextAttemptAt: now, CreatedAt: now}
	k := training.DeliveryKey(sub.ID, d.ID)
	_, err := s.Store.PutDoc(ctx, training.Doc{Kind: training.DocDelivery, ID: k, Body: training.MarshalDelivery(d)}, 0)
	if training.ErrorCode(err) == training.ECONFLICT {
		doc, gerr := s.Store.GetDoc(ctx, training.DocDelivery, k)
		if gerr != nil {
			return gerr
		}
		if d, err = training.UnmarshalDelivery(doc); err != nil {
			return fmt.Errorf("decode delivery %s: %w", k, err)
		}
		if d.Status != training.DeliveryPending {
			return nil
		}
	} else if err != nil {
		return err
	}
	if _, err := s.putDoc(ctx, training.DocDue, k, training.Due{At: d.NextAttemptAt}, 0); err != nil && training.ErrorCode(err) != training.ECONFLICT {
		return err
	}
	if s.Notify != nil {
		s.Notify(k)
	}
	return nil
}

// ListDeliveries is the delivery log of a visible subscription, by delivery id.
func (s *Service) ListDeliveries(ctx context.Context, scope Scope, subID string) ([]training.Delivery, error) {
	if _, err := s.GetSubscription(ctx, scope, subID); err != nil {
		return nil, err
	}
	docs, err := s.listAllDocs(ctx, training.DocDelivery, subID+"/")
	if err != nil {
		return nil, err
	}
	out := make([]training.Delivery, 0, len(docs))
	for _, doc := range docs {
		d, err := training.UnmarshalDelivery(doc)
		if err != nil {
			return nil, fmt.Errorf("decode delivery %s: %w", doc.ID, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// GetDelivery returns one delivery of a visible subscription, else ENOTFOUND.
func (s *Service) GetDelivery(ctx context.Context, scope Scope, subID, deliveryID string) (training.Delivery, error) {
	if _, err := s.GetSubscription(ctx, scope, subID); err != nil {
		return training.Delivery{}, err
	}
	doc, err := s.Store.GetDoc(ctx, training.DocDelivery, training.DeliveryKey(subID, deliveryID))
	if training.ErrorCode(err) == training.ENOTFOUND {
		return training.Delivery{}, training.Errorf(training.ENOTFOUND, "delivery %s of subscription %s not found", deliveryID, subID)
	}
	if err != nil {
		return training.Delivery{}, err
	}
	return training.UnmarshalDelivery(doc)
}

// ReplayDelivery sends a delivery again from the start of the schedule, whatever its status
// (an operator's replay of a failed, or a delivered, notice). It answers the delivery as queued.
func (s *Service) ReplayDelivery(ctx context.Context, scope Scope, subID, deliveryID string) (training.Delivery, error) {
	if _, err := s.GetDelivery(ctx, scope, subID, deliveryID); err != nil {
		return training.Delivery{}, err
	}
	k := training.DeliveryKey(subID, deliveryID)
	for attempt := 0; ; attempt++ {
		doc, err := s.Store.GetDoc(ctx, training.DocDelivery, k)
		if err != nil {
			return training.Delivery{}, err
		}
		d, err := training.UnmarshalDelivery(doc)
		if err != nil {
			return training.Delivery{}, err
		}
		now := s.now().UTC()
		d.Status, d.Round, d.NextAttemptAt = training.DeliveryPending, 0, now
		doc.Body = training.MarshalDelivery(d)
		if _, err := s.Store.PutDoc(ctx, doc, doc.Version); training.ErrorCode(err) == training.ECONFLICT && attempt < maxDocRetries {
			continue
		} else if err != nil {
			return training.Delivery{}, err
		}
		if err := s.setDue(ctx, k, now); err != nil {
			return training.Delivery{}, err
		}
		if s.Notify != nil {
			s.Notify(k)
		}
		d.Version = doc.Version + 1
		return d, nil
	}
}

// setDue creates or moves the outbox entry of a delivery.
func (s *Service) setDue(ctx context.Context, k string, at time.Time) error {
	for attempt := 0; ; attempt++ {
		var due training.Due
		ver, err := s.getDoc(ctx, training.DocDue, k, &due)
		if err != nil && training.ErrorCode(err) != training.ENOTFOUND {
			return err
		}
		_, err = s.putDoc(ctx, training.DocDue, k, training.Due{At: at}, ver)
		if training.ErrorCode(err) == training.ECONFLICT && attempt < maxDocRetries {
			continue
		}
		return err
	}
}

// DueAt returns when the outbox entry k is due; false when it is not in the outbox.
func (s *Service) DueAt(ctx context.Context, k string) (time.Time, bool, error) {
	var due training.Due
	_, err := s.getDoc(ctx, training.DocDue, k, &due)
	if training.ErrorCode(err) == training.ENOTFOUND {
		return time.Time{}, false, nil
	}
	return due.At, err == nil, err
}

// DueDeliveries lists the outbox: the key and due time of every pending delivery.
func (s *Service) DueDeliveries(ctx context.Context) (map[string]time.Time, error) {
	docs, err := s.listAllDocs(ctx, training.DocDue, "")
	if err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(docs))
	for _, d := range docs {
		var due training.Due
		if err := json.Unmarshal(d.Body, &due); err != nil {
			return nil, fmt.Errorf("decode outbox entry %s: %w", d.ID, err)
		}
		out[d.ID] = due.At
	}
	return out, nil
}

// Sender posts deliveries. Schedule defaults to training.RetrySchedule; tests shorten it.
type Sender struct {
	Client   *http.Client
	Schedule []time.Duration
	// Timeout bounds one attempt (default 15 s).
	Timeout time.Duration
}

func (snd Sender) schedule() []time.Duration {
	if len(snd.Schedule) == 0 {
		return training.RetrySchedule
	}
	return snd.Schedule
}

// NewSender returns a sender whose client does not follow redirects (a 3xx is a failed attempt:
// the subscription's URL is where deliveries go).
func NewSender(schedule []time.Duration) Sender {
	return Sender{Schedule: schedule, Client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// Deliver makes one attempt of the delivery keyed k (subscription_id/delivery_id) if it is in the
// outbox and due at now (or force), and records it: 2xx marks it delivered and takes it out of the
// outbox; otherwise the next attempt is scheduled, and after the schedule's last it is failed. It
// returns when the delivery is due next (zero when it left the outbox or was not in it).
func (s *Service) Deliver(ctx context.Context, snd Sender, k string, force bool) (time.Time, error) {
	var due training.Due
	dueVer, err := s.getDoc(ctx, training.DocDue, k, &due)
	if training.ErrorCode(err) == training.ENOTFOUND {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	now := s.now().UTC()
	if !force && due.At.After(now) {
		return due.At, nil
	}
	doc, err := s.Store.GetDoc(ctx, training.DocDelivery, k)
	if training.ErrorCode(err) == training.ENOTFOUND {
		return time.Time{}, s.Store.DeleteDoc(ctx, training.DocDue, k, dueVer) // an orphaned entry
	}
	if err != nil {
		return time.Time{}, err
	}
	d, err := training.UnmarshalDelivery(doc)
	if err != nil {
		return time.Time{}, fmt.Errorf("decode delivery %s: %w", k, err)
	}
	if d.Status != training.DeliveryPending {
		// Marked (delivered or failed) but the outbox entry outlived a crash: never send again.
		return time.Time{}, ignoreConflict(s.Store.DeleteDoc(ctx, training.DocDue, k, dueVer))
	}
	var sub training.Subscription
	_, err = s.getDoc(ctx, training.DocSubscription, d.SubscriptionID, &sub)
	if err != nil && training.ErrorCode(err) != training.ENOTFOUND {
		return time.Time{}, err
	}
	trigger := "schedule"
	if d.Round == 0 && len(d.Attempts) > 0 {
		trigger = "replay"
	}
	var a training.Attempt
	switch {
	case err != nil:
		a = training.Attempt{At: now, Error: "the subscription no longer exists", Trigger: trigger}
	case sub.Disabled:
		a = training.Attempt{At: now, Error: "the subscription is disabled", Trigger: trigger}
	default:
		a = snd.post(ctx, sub, d, now)
		a.Trigger = trigger
	}
	sched := snd.schedule()
	d.Attempts = append(d.Attempts, a)
	d.Round++
	ok := a.StatusCode >= 200 && a.StatusCode < 300
	switch {
	case ok:
		d.Status, d.NextAttemptAt = training.DeliveryDelivered, time.Time{}
	case d.Round >= len(sched) || err != nil:
		d.Status, d.NextAttemptAt = training.DeliveryFailed, time.Time{}
	default:
		d.NextAttemptAt = s.now().UTC().Add(sched[d.Round])
	}
	doc.Body = training.MarshalDelivery(d)
	if _, err := s.Store.PutDoc(ctx, doc, doc.Version); err != nil {
		// A replay changed it meanwhile: its outbox entry stands and is tried again.
		return time.Time{}, ignoreConflict(err)
	}
	if d.Status != training.DeliveryPending {
		return time.Time{}, ignoreConflict(s.Store.DeleteDoc(ctx, training.DocDue, k, dueVer))
	}
	if _, err := s.putDoc(ctx, training.DocDue, k, training.Due{At: d.NextAttemptAt}, dueVer); err != nil {
		return time.Time{}, ignoreConflict(err)
	}
	return d.NextAttemptAt, nil
}

func ignoreConflict(err error) error {
	if training.ErrorCode(err) == training.ECONFLICT {
		return nil
	}
	return err
}

// post sends the delivery signed with the subscription's secret (Standard Webhooks: webhook-id,
// webhook-timestamp, webhook-signature).
func (snd Sender) post(ctx context.Context, sub training.Subscription, d training.Delivery, now time.Time) (a training.Attempt) {
	a.At = now
	start := time.Now()
	defer func() { a.DurationMS = time.Since(start).Milliseconds() }()
	wh, err := standardwebhooks.NewWebhook(sub.Secret)
	if err != nil {
		a.Error = "the subscription's secret is unusable: " + err.Error()
		return a
	}
	ts := time.Now()
	sig, err := wh.Sign(d.ID, ts, d.Payload)
	if err != nil {
		a.Error = "signing failed: " + err.Error()
		return a
	}
	timeout := snd.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URL, bytes.NewReader(d.Payload))
	if err != nil {
		a.Error = err.Error()
		return a
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cadretrain-notices/1")
	req.Header.Set("webhook-id", d.ID)
	req.Header.Set("webhook-timestamp", fmt.Sprint(ts.Unix()))
	req.Header.Set("webhook-signature", sig)
	client := snd.Client
	if client == nil {
		client = NewSender(nil).Client
	}
	resp, err := client.Do(req)
	if err != nil {
		a.Error = err.Error()
		return a
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	a.StatusCode = resp.StatusCode
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		a.Error = "the receiver answered " + resp.Status
	}
	return a
}
