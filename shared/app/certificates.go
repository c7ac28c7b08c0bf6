package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cadre-training/cadretrain/shared/training"
)

// Certificate is a 学时证明: a cadre's counted trainings of a year, the totals per requirement and
// the state, as of AsOf (the year's end, or the day of issue during the year), with the code that
// GET /v1/certificates/{code} verifies (docs/api.md “Certificates”).
type Certificate struct {
	CadreID      string                `json:"cadre_id"`
	Name         string                `json:"name"`
	Unit         string                `json:"unit"`
	Rank         string                `json:"rank"`
	Category     string                `json:"category"`
	Year         int                   `json:"year"`
	AsOf         training.Date         `json:"as_of"`
	Policy       string                `json:"policy"`
	Trainings    []CertificateTraining `json:"trainings"`
	Totals       CertificateTotals     `json:"totals"`
	Requirements []CertificateReq      `json:"requirements"`
	Overall      training.State        `json:"overall"`
	Code         string                `json:"code"`
}

// CertificateTraining is one counted training on a certificate.
type CertificateTraining struct {
	RecordID    string         `json:"record_id"`
	Kind        training.Kind  `json:"kind"`
	FullTime    bool           `json:"full_time"`
	CourseTitle string         `json:"course_title"`
	Institution string         `json:"institution,omitempty"`
	StartDate   training.Date  `json:"start_date,omitzero"`
	EndDate     training.Date  `json:"end_date,omitzero"`
	StudiedOn   training.Date  `json:"studied_on,omitzero"`
	Days        training.Days  `json:"days"`
	Hours       training.Hours `json:"hours"`
}

// CertificateTotals are the year's counted 学时 and days by kind.
type CertificateTotals struct {
	CentralizedDays  training.Days  `json:"centralized_days"`
	CentralizedHours training.Hours `json:"centralized_hours"`
	FullTimeHours    training.Hours `json:"full_time_hours"`
	OnlineHours      training.Hours `json:"online_hours"`
}

// CertificateReq is one requirement on a certificate: its window, target, what was achieved and
// the state.
type CertificateReq struct {
	ID       string            `json:"id"`
	Window   training.Window   `json:"window"`
	Target   training.Measures `json:"target"`
	Achieved training.Measures `json:"achieved"`
	State    training.State    `json:"state"`
}

// Verification is GET /v1/certificates/{code}: valid when the certificate the code was issued
// for still says exactly the same; changed when its cadre's records or profile have changed
// since (the certificate as it stands now is shown).
type Verification struct {
	Status      string       `json:"status"` // "valid" or "changed"
	Detail      string       `json:"detail"`
	Certificate *Certificate `json:"certificate"`
}

var codeEnc = base32.StdEncoding.WithPadding(base32.NoPadding)

const macBytes = 10 // 80 bits per MAC: 16 base32 characters

func certMAC(key []byte, parts ...string) string {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return codeEnc.EncodeToString(m.Sum(nil)[:macBytes])
}

// certificate builds the certificate of the cadre as of asOf from its records; the code is set
// from key.
func (s *Service) certificate(c training.Cadre, recs []training.Record, asOf training.Date, key []byte) (Certificate, error) {
	st, err := s.rules().Evaluate(c, recs, asOf, time.Time{})
	if err != nil {
		return Certificate{}, err
	}
	cert := Certificate{
		CadreID: c.ID, Name: c.Name, Unit: c.Unit, Rank: training.RankOn(c, asOf), Category: st.Category,
		Year: asOf.Year, AsOf: asOf, Policy: st.Policy, Overall: st.Overall,
		Trainings: []CertificateTraining{}, Requirements: []CertificateReq{},
	}
	yearStart := training.Date{Year: asOf.Year, Month: time.January, Day: 1}
	for i := len(recs) - 1; i >= 0; i-- { // oldest first
		r := recs[i]
		d := r.AttributionDate()
		if !r.Counts() || d.Before(yearStart) || d.After(asOf) {
			continue
		}
		t := CertificateTraining{RecordID: r.ID, Kind: r.Kind, FullTime: r.FullTime, CourseTitle: r.CourseTitle,
			Institution: r.Institution, Hours: r.Hours}
		var err error
		if r.Kind == training.KindCentralized {
			t.StartDate, t.EndDate, t.Days = r.StartDate, r.EndDate, r.Days
			if cert.Totals.CentralizedDays, err = training.SumDays(cert.Totals.CentralizedDays, r.Days); err != nil {
				return Certificate{}, err
			}
			if cert.Totals.CentralizedHours, err = sumHours(cert.Totals.CentralizedHours, r.Hours); err != nil {
				return Certificate{}, err
			}
			if r.FullTime {
				if cert.Totals.FullTimeHours, err = sumHours(cert.Totals.FullTimeHours, r.Hours); err != nil {
					return Certificate{}, err
				}
			}
		} else {
			t.StudiedOn = d
			if cert.Totals.OnlineHours, err = sumHours(cert.Totals.OnlineHours, r.Hours); err != nil {
				return Certificate{}, err
			}
		}
		cert.Trainings = append(cert.Trainings, t)
	}
	for _, rs := range st.Requirements {
		cert.Requirements = append(cert.Requirements, CertificateReq{ID: rs.ID, Window: rs.Window, Target: rs.Target, Achieved: rs.Achieved, State: rs.State})
	}
	content, err := json.Marshal(cert) // Code still empty: the MAC covers everything else
	if err != nil {
		return Certificate{}, err
	}
	payload := base64.RawURLEncoding.EncodeToString([]byte(c.ID)) + "." + fmt.Sprintf("%04d%02d%02d", asOf.Year, asOf.Month, asOf.Day)
	cert.Code = payload + "." + certMAC(key, "id", payload) + certMAC(key, "content", payload, string(content))
	return cert, nil
}

func checkKey(key []byte) error {
	if len(key) == 0 {
		return fmt.Errorf("certificates: the configuration has no certificate_key")
	}
	return nil
}

// IssueCertificate returns the 学时证明 of a cadre visible in scope for year (0: this year), as of
// the year's end or, for this year, today.
func (s *Service) IssueCertificate(ctx context.Context, scope Scope, cadreID string, year int, key []byte) (Certificate, error) {
	if err := checkKey(key); err != nil {
		return Certificate{}, err
	}
	today := s.Today()
	if year == 0 {
		year = today.Year
	}
	if year > today.Year {
		var f training.Fields
		f.Add("year", "must not be after this year (%d)", today.Year)
		return Certificate{}, f.Err()
	}
	c, err := s.GetCadre(ctx, scope, cadreID)
	if err != nil {
		return Certificate{}, err
	}
	asOf := yearEnd(year)
	if year == today.Year {
		asOf = today
	}
	if _, err := s.rules().PolicyFor(asOf); err != nil {
		var f training.Fields
		f.Add("year", "%s", training.ErrorMessage(err))
		return Certificate{}, f.Err()
	}
	recs, err := s.Store.ListRecords(ctx, c.ID)
	if err != nil {
		return Certificate{}, err
	}
	return s.certificate(c, recs, asOf, key)
}

// VerifyCertificate checks a code: ENOTFOUND unless it was issued with key (its id MAC); then
// the certificate is rebuilt from the stored records as of the same day and its content MAC
// compared: valid, or changed since it was issued.
func (s *Service) VerifyCertificate(ctx context.Context, code string, key []byte) (Verification, error) {
	if err := checkKey(key); err != nil {
		return Verification{}, err
	}
	unknown := training.Errorf(training.ENOTFOUND, "no certificate has this verification code")
	parts := strings.Split(code, ".")
	if len(parts) != 3 || len(parts[2]) != 2*codeEnc.EncodedLen(macBytes) {
		return Verification{}, unknown
	}
	payload := parts[0] + "." + parts[1]
	idMAC := parts[2][:codeEnc.EncodedLen(macBytes)]
	if !hmac.Equal([]byte(idMAC), []byte(certMAC(key, "id", payload))) {
		return Verification{}, unknown
	}
	idb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return Verification{}, unknown
	}
	day, err := time.Parse("20060102", parts[1])
	if err != nil {
		return Verification{}, unknown
	}
	c, err := s.Store.GetCadre(ctx, string(idb))
	if training.ErrorCode(err) == training.ENOTFOUND {
		return Verification{Status: "changed", Detail: "the cadre of this certificate no longer exists"}, nil
	}
	if err != nil {
		return Verification{}, err
	}
	s.setCurrentRank(&c)
	recs, err := s.Store.ListRecords(ctx, c.ID)
	if err != nil {
		return Verification{}, err
	}
	cert, err := s.certificate(c, recs, training.DateOf(day), key)
	if err != nil {
		return Verification{}, err
	}
	if hmac.Equal([]byte(cert.Code), []byte(code)) {
		return Verification{Status: "valid", Detail: "the certificate is genuine and its content unchanged", Certificate: &cert}, nil
	}
	return Verification{Status: "changed", Detail: "the certificate was issued by this service, but the cadre's records or profile have changed since; the certificate as it stands now is shown", Certificate: &cert}, nil
}
