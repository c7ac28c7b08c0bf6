package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/training"
)

// corrections is POST /v1/cadres/{cadre_id}/corrections: HR replaces the rank history and/or the
// leadership terms, with a reason; the correction is kept (who, when, why, before, after) and the
// status recomputed (docs/rules.md "Corrections of profiles"). Body: {"reason": …,
// "rank_history": [{"rank", "effective_on"}…], "leadership_history": [{"appointed_on", "left_on"}…]}.
func (a *API) corrections(c *call) (int, any, error) {
	o, errs, err := requestObject(c)
	if err != nil {
		return 0, nil, err
	}
	in := app.CorrectionInput{Reason: o.str("reason", true)}
	if items, ok := objectArray(o, "rank_history", errs); ok {
		in.SetRank, in.RankHistory = true, []training.RankChange{}
		for _, item := range items {
			in.RankHistory = append(in.RankHistory, training.RankChange{Rank: item.str("rank", true), EffectiveOn: item.date("effective_on", true)})
			item.done()
		}
	}
	if items, ok := objectArray(o, "leadership_history", errs); ok {
		in.SetLeadership, in.LeadershipHistory = true, []training.LeadershipTerm{}
		for _, item := range items {
			in.LeadershipHistory = append(in.LeadershipHistory, training.LeadershipTerm{AppointedOn: item.date("appointed_on", true), LeftOn: item.date("left_on", false)})
			item.done()
		}
	}
	o.done()
	if err := mergeFields(*errs, a.d.Service.CheckCorrection(&in)).Err(); err != nil {
		return 0, nil, err
	}
	cadre, err := a.d.Service.CorrectProfile(c.ctx(), c.key, c.r.PathValue("cadre_id"), in, actor(c.key))
	if err != nil {
		return 0, nil, err
	}
	a.recomputeAfterProfileChange(c, cadre.ID)
	return http.StatusOK, cadreView(c.lang(), cadre), nil
}

// objectArray reads an optional array of objects; each item reads its fields as name[i].field.
func objectArray(o *object, name string, errs *training.Fields) ([]*object, bool) {
	raw, ok := o.get(name)
	if !ok {
		return nil, false
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		o.bad(name, "must be an array of objects")
		return nil, false
	}
	out := make([]*object, 0, len(items))
	for i, item := range items {
		if it, ok := parseObject(item, o.prefix+name+"["+strconv.Itoa(i)+"].", errs); ok {
			out = append(out, it)
		}
	}
	return out, true
}

// queryBool parses an optional true/false query parameter (false when absent).
func queryBool(q url.Values, name string, errs *training.Fields) bool {
	switch s := q.Get(name); s {
	case "", "false":
		return false
	case "true":
		return true
	default:
		errs.Add(name, "must be true or false, got %q", s)
		return false
	}
}
