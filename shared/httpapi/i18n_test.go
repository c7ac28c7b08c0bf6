package httpapi

import (
	"strings"
	"testing"

	"github.com/cadre-training/cadretrain/shared/training"
)

// Accept-Language (RFC 9110 §12.5.4): zh and its variants choose Chinese, by quality; English
// is the default (issue 9 item 7).
func TestNegotiate(t *testing.T) {
	for header, want := range map[string]lang{
		"":                        langEN,
		"zh":                      langZH,
		"zh-CN":                   langZH,
		"zh-Hans-CN":              langZH,
		"ZH-cn":                   langZH,
		"zh-CN,zh;q=0.9,en;q=0.8": langZH,
		"en-US,en;q=0.9,zh;q=0.8": langEN,
		"zh;q=0.1, en":            langEN,
		"fr-FR, zh;q=0.5":         langZH,
		"fr-FR":                   langEN,
		"zh;q=0":                  langEN, // q=0 means "not acceptable"
		"zh;q=bad, en;q=0.1":      langEN,
		"en;q=0.5, zh-TW;q=0.6":   langZH,
		"*":                       langEN,
	} {
		if got := negotiate(header); got != want {
			t.Errorf("negotiate(%q) = %s, want %s", header, got, want)
		}
	}
}

// Every code the shipped policies can put in a response (categories, requirement ids) and every
// state has a Chinese label, and every error code a Chinese title and detail opening: a policy
// that adds a requirement without a label fails here.
func TestChineseLabelsComplete(t *testing.T) {
	var codes []string
	for _, p := range training.DefaultRules().Policies {
		for _, c := range p.Categories {
			codes = append(codes, c.ID)
		}
		for _, r := range p.Requirements {
			codes = append(codes, r.ID)
		}
	}
	codes = append(codes, string(training.StateMet), string(training.StateOnTrack), string(training.StateAtRisk), string(training.StateUnmet))
	for _, c := range codes {
		if labels[c][langZH] == "" || labels[c][langEN] == "" {
			t.Errorf("code %q has no Chinese or English label", c)
		}
	}
	for _, code := range []string{training.EINVALID, training.EUNAUTHED, training.EFORBIDDEN, training.ENOTFOUND, training.ECONFLICT, training.ETOOLARGE, training.EUNSUPPORTED, training.EINTERNAL} {
		if titles[code][langZH] == "" || titles[code][langEN] == "" || zhDetail[code] == "" {
			t.Errorf("error code %q lacks a title or detail opening", code)
		}
	}
}

// The common messages translate, with their values carried over; an unknown message does not.
func TestTranslate(t *testing.T) {
	a := &API{}
	for en, zh := range map[string]string{
		"is required":          "必填",
		"is not a known field": "不是可识别的字段",
		`must be a date YYYY-MM-DD, got "2025-13-01"`:                `必须是 YYYY-MM-DD 格式的日期，实际为 "2025-13-01"`,
		`cadre "c-9" not found`:                                      `未找到干部 "c-9"`,
		"no route GET /v1/x; docs/api.md lists the routes under /v1": "没有 GET /v1/x 这一接口；接口清单见 docs/api.md",
	} {
		if got, ok := a.translate(langZH, en); !ok || got != zh {
			t.Errorf("translate(%q) = %q, %v; want %q", en, got, ok, zh)
		}
	}
	if got, ok := a.translate(langZH, "something new"); ok || got != "something new" {
		t.Errorf("an unknown message: %q, %v", got, ok)
	}
	p := Problem{Detail: "something new"}
	a.localize(langZH, training.ECONFLICT, &p)
	if p.Title != "冲突" || !strings.HasPrefix(p.Detail, "与已有数据冲突（something new") {
		t.Errorf("untranslated detail: %+v", p)
	}
}
