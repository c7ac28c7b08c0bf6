package httpapi

import (
	"net/http"
	"strings"

	"github.com/cadre-training/cadretrain/shared/training"
)

// What a browser page from an allowed origin may send and read (docs/api.md “CORS”). template.yaml's
// HttpApi CorsConfiguration lists the same (a test compares them): in AWS, API Gateway answers
// for the origins of the CorsAllowOrigins parameter; on one machine this handler answers for the
// cors_origins of the configuration document.
var (
	CORSAllowMethods  = []string{"GET", "PUT", "POST"}
	CORSAllowHeaders  = []string{"Authorization", "Content-Type", "Idempotency-Key", "Accept-Language"}
	CORSExposeHeaders = []string{"WWW-Authenticate", "Content-Disposition", "Content-Language"}
)

// CORSMaxAge is how long (seconds) a browser may cache a preflight answer.
const CORSMaxAge = "600"

// cors adds the CORS headers for a request with an Origin header, and answers a preflight
// (OPTIONS with Access-Control-Request-Method) itself: 204 for an allowed origin, a 403 problem
// for another. It reports whether it answered. A request from an origin that is not allowed is
// served without CORS headers, so the browser withholds the response from the page.
func (a *API) cors(w http.ResponseWriter, r *http.Request, origin string) bool {
	h := w.Header()
	h.Add("Vary", "Origin")
	allowed := false
	if a.d.Config != nil {
		cfg, err := a.d.Config.Get(r.Context())
		if err != nil {
			a.fail(w, r, err)
			return true
		}
		allowed = cfg.AllowsOrigin(origin)
	}
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	if preflight {
		logOf(r).route = "OPTIONS (CORS preflight)"
		if !allowed {
			a.fail(w, r, training.Errorf(training.EFORBIDDEN, "origin %q is not allowed to call this API (cors_origins of the configuration)", origin))
			return true
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Methods", strings.Join(CORSAllowMethods, ", "))
		h.Set("Access-Control-Allow-Headers", strings.Join(CORSAllowHeaders, ", "))
		h.Set("Access-Control-Max-Age", CORSMaxAge)
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	if allowed {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", strings.Join(CORSExposeHeaders, ", "))
	}
	return false
}
