package httpapi

import (
	"net/http"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/training"
)

// putSubscription serves PUT /v1/subscriptions/{subscription_id} (admin).
func (a *API) putSubscription(c *call) (int, any, error) {
	o, errs, err := requestObject(c)
	if err != nil {
		return 0, nil, err
	}
	in := app.SubscriptionInput{
		URL:         o.str("url", true),
		Events:      o.strs("events"),
		Unit:        o.str("unit", false),
		Description: o.str("description", false),
		Secret:      o.str("secret", false),
	}
	in.Disabled, _ = o.boolean("disabled")
	o.done()
	if len(*errs) > 0 {
		return 0, nil, errs.Err()
	}
	sub, created, err := a.d.Service.PutSubscription(c.ctx(), c.key, c.r.PathValue("subscription_id"), in)
	if err != nil {
		return 0, nil, err
	}
	// The signing secret is shown in the answer that set it: the creation (generated unless sent)
	// and a PUT that sent one (a rotation). Never again.
	body := subscriptionAnswer(sub, created || in.Secret != "")
	if created {
		return http.StatusCreated, body, nil
	}
	return http.StatusOK, body, nil
}

// subscriptionBody is a subscription as answered: Secret (shadowing the stored one) is set only
// in the answer that set it; SecretHint (whsec_…last4) always, to tell which secret is in use.
type subscriptionBody struct {
	training.Subscription
	Secret     string `json:"secret,omitempty"`
	SecretHint string `json:"secret_hint"`
}

func subscriptionAnswer(sub training.Subscription, reveal bool) subscriptionBody {
	b := subscriptionBody{Subscription: sub, SecretHint: "whsec_…"}
	if n := len(sub.Secret); n >= len("whsec_")+32 { // 4 of at least 32 base64 characters (24 bytes)
		b.SecretHint += sub.Secret[n-4:]
	}
	if reveal {
		b.Secret = sub.Secret
	}
	return b
}

func (a *API) listSubscriptions(c *call) (int, any, error) {
	subs, err := a.d.Service.ListSubscriptions(c.ctx(), c.key)
	if err != nil {
		return 0, nil, err
	}
	out := make([]subscriptionBody, len(subs))
	for i, sub := range subs {
		out[i] = subscriptionAnswer(sub, false)
	}
	return http.StatusOK, map[string]any{"subscriptions": out}, nil
}

func (a *API) getSubscription(c *call) (int, any, error) {
	sub, err := a.d.Service.GetSubscription(c.ctx(), c.key, c.r.PathValue("subscription_id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, subscriptionAnswer(sub, false), nil
}

// listDeliveries serves GET /v1/subscriptions/{subscription_id}/deliveries: the delivery log.
func (a *API) listDeliveries(c *call) (int, any, error) {
	ds, err := a.d.Service.ListDeliveries(c.ctx(), c.key, c.r.PathValue("subscription_id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"deliveries": ds}, nil
}

func (a *API) getDelivery(c *call) (int, any, error) {
	d, err := a.d.Service.GetDelivery(c.ctx(), c.key, c.r.PathValue("subscription_id"), c.r.PathValue("delivery_id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, d, nil
}

// replayDelivery serves POST …/deliveries/{delivery_id}/replay: send it again from the start of
// the retry schedule (202: it is queued).
func (a *API) replayDelivery(c *call) (int, any, error) {
	d, err := a.d.Service.ReplayDelivery(c.ctx(), c.key, c.r.PathValue("subscription_id"), c.r.PathValue("delivery_id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, d, nil
}
