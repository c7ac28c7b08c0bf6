package httpapi

import (
	"net/http"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/training"
)

// recompute serves POST /v1/recompute: {"cadre_id": …} | {"unit": …} | {"all": true}, optional
// as_of. One cadre and a unit run at once; everyone runs as a background job (202 + job id).
// Each also rebuilds the form entries from the stored records, so an operator can repair any gap.
func (a *API) recompute(c *call) (int, any, error) {
	o, errs, err := requestObject(c)
	if err != nil {
		return 0, nil, err
	}
	cadreID := o.str("cadre_id", false)
	unit := o.str("unit", false)
	all, _ := o.boolean("all")
	asOf := o.date("as_of", false)
	o.done()
	n := 0
	for _, set := range []bool{cadreID != "", unit != "", all} {
		if set {
			n++
		}
	}
	if n != 1 && len(*errs) == 0 {
		errs.Add("body", `give exactly one of "cadre_id", "unit" or "all": true`)
	}
	if cadreID != "" {
		training.CheckID(errs, "cadre_id", cadreID)
	}
	if unit != "" {
		if msg := training.CheckUnit(unit); msg != "" {
			errs.Add("unit", "%s", msg)
		}
	}
	if err := errs.Err(); err != nil {
		return 0, nil, err
	}
	svc := a.d.Service
	switch {
	case cadreID != "":
		if _, err := svc.GetCadre(c.ctx(), c.key, cadreID); err != nil {
			return 0, nil, err
		}
		if _, err := svc.RepairCadre(c.ctx(), cadreID, asOf); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, app.RecomputeResult{Recomputed: 1}, nil
	case unit != "":
		if !c.key.Sees(unit) {
			return 0, nil, training.Errorf(training.EFORBIDDEN, "unit %s is outside the units of this API key", unit)
		}
		res, err := svc.RecomputeUnitWith(c.ctx(), unit, asOf, 8, true, func(id string, err error) {
			a.d.Log.Error("recompute failed", "request_id", c.log.id, "cadre_id", id, "err", err.Error())
		})
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, res, nil
	}
	if !c.key.Sees("") {
		return 0, nil, training.Errorf(training.EFORBIDDEN, `"all" needs an API key whose units include the root ("")`)
	}
	job := app.RecomputeJob{JobID: app.NewJobID(), AsOf: asOf, RepairForms: true}
	if a.d.Jobs == nil {
		res, err := svc.RunRecomputeJob(c.ctx(), job, nil)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, res, nil
	}
	// The status first, so that GET /v1/recompute/{job_id} finds it as soon as the id is out.
	if _, err := svc.CreateJob(c.ctx(), job); err != nil {
		return 0, nil, err
	}
	if err := a.d.Jobs.StartRecompute(c.ctx(), job); err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, map[string]string{"job_id": job.JobID, "status": "accepted"}, nil
}

// recomputeJob serves GET /v1/recompute/{job_id}: the status of a full recompute (training.Job:
// state, done / total / failed, and each segment's checkpoint).
func (a *API) recomputeJob(c *call) (int, any, error) {
	if !c.key.Sees("") {
		return 0, nil, training.Errorf(training.EFORBIDDEN, "recompute jobs span every unit: they need an API key whose units include the root (\"\")")
	}
	j, err := a.d.Service.GetJob(c.ctx(), c.r.PathValue("job_id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, j, nil
}
