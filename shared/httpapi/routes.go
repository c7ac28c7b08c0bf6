package httpapi

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/cadre-training/cadretrain/shared/config"
)

// Function names: the folder of each Lambda function under functions/ and its CodeUri in
// template.yaml.
const (
	FnHRAPI             = "hr-api"
	FnRecordSelfStudy   = "record-self-study"
	FnIngestCompletions = "ingest-completions"
	FnRecomputeQuota    = "recompute-quota"
	FnWriteFormEntries  = "write-form-entries"
)

// Route is one route of the API: its method and path pattern (ServeMux syntax, which is also API
// Gateway's), the Lambda function that serves it in AWS, and the role a caller's API key needs
// ("" for routes that authenticate otherwise or not at all).
type Route struct {
	Method   string
	Path     string
	Function string
	Role     string
	serve    func(a *API, c *call) (int, any, error)
}

// Function is one Lambda function of the API: its name and its routes. A function's main names
// only its own Function (NewFunction), so its binary links the code of its own routes and not
// that of the others' (docs/benchmarks.md “Lambda deployment packages”).
type Function struct {
	Name   string
	routes func() []Route
}

// The API's Lambda functions.
var (
	HRAPI             = Function{FnHRAPI, hrAPIRoutes}
	RecordSelfStudy   = Function{FnRecordSelfStudy, selfStudyRoutes}
	IngestCompletions = Function{FnIngestCompletions, ingestRoutes}
	RecomputeQuota    = Function{FnRecomputeQuota, recomputeRoutes}
)

// Routes is the one route table: every function's routes. template.yaml's HttpApi events must
// list exactly these (a test checks it), so a route cannot exist in one and not the other.
func Routes() []Route {
	var all []Route
	for _, fn := range Functions() {
		all = append(all, fn.routes()...)
	}
	return all
}

// Functions lists the API's Lambda functions.
func Functions() []Function {
	return []Function{HRAPI, RecordSelfStudy, IngestCompletions, RecomputeQuota}
}

// Routes are the function's routes.
func (f Function) Routes() []Route { return f.routes() }

func hrAPIRoutes() []Route {
	return []Route{
		{"GET", "/v1/health", FnHRAPI, "", (*API).health},
		{"GET", "/v1/openapi.json", FnHRAPI, "", (*API).openAPI},
		{"GET", "/v1/policies", FnHRAPI, config.RoleHR, (*API).policies},
		{"PUT", "/v1/cadres/{cadre_id}", FnHRAPI, config.RoleHR, (*API).putCadre},
		{"GET", "/v1/cadres", FnHRAPI, config.RoleHR, (*API).listCadres},
		{"GET", "/v1/cadres/{cadre_id}", FnHRAPI, config.RoleHR, (*API).getCadre},
		{"GET", "/v1/cadres/{cadre_id}/records", FnHRAPI, config.RoleHR, (*API).listRecords},
		{"GET", "/v1/cadres/{cadre_id}/quota-status", FnHRAPI, config.RoleHR, (*API).quotaStatus},
		{"GET", "/v1/cadres/{cadre_id}/appointment-records", FnHRAPI, config.RoleHR, (*API).appointmentEntries},
		{"GET", "/v1/cadres/{cadre_id}/appraisal-records", FnHRAPI, config.RoleHR, (*API).appraisalEntries},
		{"POST", "/v1/cadres/{cadre_id}/corrections", FnHRAPI, config.RoleHR, (*API).corrections},
		{"POST", "/v1/records/{record_id}/void", FnHRAPI, config.RoleHR, (*API).voidRecord},
		{"GET", "/v1/cadres/{cadre_id}/certificate", FnHRAPI, config.RoleHR, (*API).certificate},
		{"GET", "/v1/certificates/{code}", FnHRAPI, "", (*API).verifyCertificate},
		{"GET", "/v1/reports/unit", FnHRAPI, config.RoleHR, (*API).unitReport},
		{"GET", "/v1/reports/makeup", FnHRAPI, config.RoleHR, (*API).makeupList},
		{"POST", "/v1/cadres/{cadre_id}/trainings", FnHRAPI, config.RoleHR, (*API).trainings},
		{"PUT", "/v1/classes/{course_id}", FnHRAPI, config.RoleHR, (*API).putClass},
		{"GET", "/v1/classes/{course_id}", FnHRAPI, config.RoleHR, (*API).getClass},
		{"GET", "/v1/classes", FnHRAPI, config.RoleHR, (*API).listClasses},
		{"POST", "/v1/classes/{course_id}/file", FnHRAPI, config.RoleHR, (*API).fileClass},
		{"POST", "/v1/classes/{course_id}/leave", FnHRAPI, config.RoleHR, (*API).recordLeave},
		{"GET", "/v1/cadres/{cadre_id}/calls", FnHRAPI, config.RoleHR, (*API).cadreCalls},
		{"GET", "/v1/reports/calls", FnHRAPI, config.RoleHR, (*API).callsReport},
		{"GET", "/v1/reports/digest", FnHRAPI, config.RoleHR, (*API).digest},
		{"PUT", "/v1/subscriptions/{subscription_id}", FnHRAPI, config.RoleAdmin, (*API).putSubscription},
		{"GET", "/v1/subscriptions", FnHRAPI, config.RoleAdmin, (*API).listSubscriptions},
		{"GET", "/v1/subscriptions/{subscription_id}", FnHRAPI, config.RoleAdmin, (*API).getSubscription},
		{"GET", "/v1/subscriptions/{subscription_id}/deliveries", FnHRAPI, config.RoleAdmin, (*API).listDeliveries},
		{"GET", "/v1/subscriptions/{subscription_id}/deliveries/{delivery_id}", FnHRAPI, config.RoleAdmin, (*API).getDelivery},
		{"POST", "/v1/subscriptions/{subscription_id}/deliveries/{delivery_id}/replay", FnHRAPI, config.RoleAdmin, (*API).replayDelivery},
	}
}

func selfStudyRoutes() []Route {
	return []Route{
		{"POST", "/v1/cadres/{cadre_id}/self-study", FnRecordSelfStudy, config.RoleHR, (*API).selfStudy},
	}
}

func ingestRoutes() []Route {
	return []Route{
		{"POST", "/v1/webhooks/completions/{platform_id}", FnIngestCompletions, "", (*API).completions},
	}
}

func recomputeRoutes() []Route {
	return []Route{
		{"POST", "/v1/recompute", FnRecomputeQuota, config.RoleAdmin, (*API).recompute},
		{"GET", "/v1/recompute/{job_id}", FnRecomputeQuota, config.RoleAdmin, (*API).recomputeJob},
	}
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "req_" + hex.EncodeToString(b)
}
