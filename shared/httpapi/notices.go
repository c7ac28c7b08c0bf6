package httpapi

import (
	"net/http"

	"github.com/cadre-training/cadretrain/shared/app"
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
	if created {
		return http.StatusCreated, sub, nil
	}
	return http.StatusOK, sub, nil
}

func (a *API) listSubscriptions(c *call) (int, any, error) {
	subs, err := a.d.Service.ListSubscriptions(c.ctx(), c.key)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"subscriptions": subs}, nil
}

func (a *API) getSubscription(c *call) (int, any, error) {
	sub, err := a.d.Service.GetSubscription(c.ctx(), c.key, c.r.PathValue("subscription_id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, sub, nil
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
