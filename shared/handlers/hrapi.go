package handlers

import (
	"context"
	"net/http"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/config"
	"github.com/cadre-training/cadretrain/shared/training"
)

// Routes of the hr-api function, as API Gateway's routeKey names them.
const (
	RoutePutCadre           = "PUT /v1/cadres/{cadre_id}"
	RouteGetCadre           = "GET /v1/cadres/{cadre_id}"
	RouteListRecords        = "GET /v1/cadres/{cadre_id}/records"
	RouteVoidRecord         = "POST /v1/records/{record_id}/void"
	RouteQuotaStatus        = "GET /v1/cadres/{cadre_id}/quota-status"
	RouteAppointmentEntries = "GET /v1/cadres/{cadre_id}/appointment-records"
	RouteAppraisalEntries   = "GET /v1/cadres/{cadre_id}/appraisal-records"
	RouteHealth             = "GET /v1/health"
	RoutePolicies           = "GET /v1/policies"
)

type hrAPI struct {
	d   Deps
	svc *app.Service
}

// HRAPI is the hr-api function: profiles, training archive, void, quota status, form entries, health.
func HRAPI(d Deps) func(context.Context, httpRequest) (httpResponse, error) {
	h := &hrAPI{d: d, svc: d.service()}
	return guard(d.log(), h.route)
}

func (h *hrAPI) route(ctx context.Context, req httpRequest) (httpResponse, error) {
	if req.RouteKey == RouteHealth {
		return jsonResponse(http.StatusOK, map[string]string{"status": "ok", "store": h.d.StoreKind}), nil
	}
	handler, ok := map[string]func(context.Context, httpRequest, *config.APIKey) (httpResponse, error){
		RoutePutCadre:           h.putCadre,
		RouteGetCadre:           h.getCadre,
		RouteListRecords:        h.listRecords,
		RouteVoidRecord:         h.voidRecord,
		RouteQuotaStatus:        h.quotaStatus,
		RouteAppointmentEntries: h.appointmentEntries,
		RouteAppraisalEntries:   h.appraisalEntries,
		RoutePolicies:           h.policies,
	}[req.RouteKey]
	if !ok {
		// The $default route brings every request that matches no route of API.md here.
		return httpResponse{}, training.Errorf(training.ENOTFOUND, "no route %s %s; see API.md for the routes under /v1", req.RequestContext.HTTP.Method, req.RawPath)
	}
	key, err := authenticate(h.d.Config, req, config.RoleHR)
	if err != nil {
		return httpResponse{}, err
	}
	return handler(ctx, req, key)
}

func (h *hrAPI) putCadre(ctx context.Context, req httpRequest, key *config.APIKey) (httpResponse, error) {
	o, errs, err := requestObject(req)
	if err != nil {
		return httpResponse{}, err
	}
	in := app.ProfileInput{
		Name:            o.str("name", true, 100),
		Unit:            o.str("unit", true, 256),
		Rank:            o.str("rank", true, 64),
		RankEffectiveOn: o.date("rank_effective_on", false),
		JoinedOn:        o.date("joined_on", false),
	}
	in.LeadershipMember, _ = o.boolean("leadership_member")
	o.done()
	// The service's own checks too, so every bad field is named at once.
	if err := mergeFields(*errs, h.svc.CheckProfile(req.PathParameters["cadre_id"], in)).Err(); err != nil {
		return httpResponse{}, err
	}
	c, created, err := h.svc.PutCadre(ctx, key, req.PathParameters["cadre_id"], in)
	if err != nil {
		return httpResponse{}, err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	h.recomputeAfterProfileChange(ctx, c.ID)
	return jsonResponse(status, c), nil
}

// recomputeAfterProfileChange refreshes the stored snapshot when a rank or leadership flag changes
// what a cadre owes. Profile items are not record changes, so the stream handlers do not see them.
// A failure here is logged, not returned: the profile is stored and the daily recompute repairs it.
func (h *hrAPI) recomputeAfterProfileChange(ctx context.Context, cadreID string) {
	if _, err := h.svc.Recompute(ctx, cadreID, training.Date{}); err != nil {
		h.d.log().Warn("recompute after profile change failed", "cadre_id", cadreID, "err", err.Error())
	}
}

// mergeFields adds the field errors of more that the wire layer did not already report.
func mergeFields(errs, more training.Fields) training.Fields {
	have := map[string]bool{}
	for _, f := range errs {
		have[f.Field] = true
	}
	for _, f := range more {
		if !have[f.Field] {
			errs = append(errs, f)
		}
	}
	return errs
}

func (h *hrAPI) getCadre(ctx context.Context, req httpRequest, key *config.APIKey) (httpResponse, error) {
	c, err := h.svc.GetCadre(ctx, key, req.PathParameters["cadre_id"])
	if err != nil {
		return httpResponse{}, err
	}
	return jsonResponse(http.StatusOK, c), nil
}

func (h *hrAPI) listRecords(ctx context.Context, req httpRequest, key *config.APIKey) (httpResponse, error) {
	var errs training.Fields
	year := queryYear(req, &errs)
	if err := errs.Err(); err != nil {
		return httpResponse{}, err
	}
	recs, err := h.svc.ListRecords(ctx, key, req.PathParameters["cadre_id"], year)
	if err != nil {
		return httpResponse{}, err
	}
	return jsonResponse(http.StatusOK, map[string]any{"records": recordViews(recs)}), nil
}

func (h *hrAPI) voidRecord(ctx context.Context, req httpRequest, key *config.APIKey) (httpResponse, error) {
	o, errs, err := requestObject(req)
	if err != nil {
		return httpResponse{}, err
	}
	reason := o.str("reason", true, 500)
	o.done()
	if err := errs.Err(); err != nil {
		return httpResponse{}, err
	}
	rec, _, err := h.svc.VoidRecord(ctx, key, req.PathParameters["record_id"], reason, "api-key:"+key.ID)
	if err != nil {
		return httpResponse{}, err
	}
	return jsonResponse(http.StatusOK, recordView(rec)), nil
}

func (h *hrAPI) quotaStatus(ctx context.Context, req httpRequest, key *config.APIKey) (httpResponse, error) {
	var errs training.Fields
	asOf := queryDate(req, "as_of", &errs)
	if err := errs.Err(); err != nil {
		return httpResponse{}, err
	}
	st, err := h.svc.QuotaStatus(ctx, key, req.PathParameters["cadre_id"], asOf)
	if err != nil {
		return httpResponse{}, err
	}
	return jsonResponse(http.StatusOK, statusView(st)), nil
}

func (h *hrAPI) appointmentEntries(ctx context.Context, req httpRequest, key *config.APIKey) (httpResponse, error) {
	es, err := h.svc.FormEntries(ctx, key, req.PathParameters["cadre_id"], training.FormAppointment, 0)
	if err != nil {
		return httpResponse{}, err
	}
	return jsonResponse(http.StatusOK, map[string]any{"entries": entryViews(es)}), nil
}

func (h *hrAPI) appraisalEntries(ctx context.Context, req httpRequest, key *config.APIKey) (httpResponse, error) {
	var errs training.Fields
	year := queryYear(req, &errs)
	if err := errs.Err(); err != nil {
		return httpResponse{}, err
	}
	es, err := h.svc.FormEntries(ctx, key, req.PathParameters["cadre_id"], training.FormAppraisal, year)
	if err != nil {
		return httpResponse{}, err
	}
	return jsonResponse(http.StatusOK, map[string]any{"entries": entryViews(es)}), nil
}

// policies lists the policies and local crediting overlays in force (docs/rules.md); any API key.
func (h *hrAPI) policies(_ context.Context, _ httpRequest, _ *config.APIKey) (httpResponse, error) {
	return jsonResponse(http.StatusOK, h.svc.Policies()), nil
}
