package httpapi

import (
	"fmt"
	"html"
	"net/http"
	"strings"

	"github.com/cadre-training/cadretrain/shared/app"
	"github.com/cadre-training/cadretrain/shared/training"
)

// certificate is GET /v1/cadres/{cadre_id}/certificate: the 学时证明 of a year, as JSON or
// (?format=html) a printable page.
func (a *API) certificate(c *call) (int, any, error) {
	var errs training.Fields
	q := c.r.URL.Query()
	year := queryYear(q, &errs)
	html := false
	switch f := q.Get("format"); f {
	case "", formatJSON:
	case "html":
		html = true
	default:
		errs.Add("format", "must be json or html, got %q", f)
	}
	if err := errs.Err(); err != nil {
		return 0, nil, err
	}
	cert, err := a.d.Service.IssueCertificate(c.ctx(), c.key, c.r.PathValue("cadre_id"), year, c.cfg.CertificateKey())
	if err != nil {
		return 0, nil, err
	}
	if !html {
		return http.StatusOK, cert, nil
	}
	return a.certificatePage(c, cert)
}

// verifyCertificate is GET /v1/certificates/{code}: no API key; the code is the credential.
func (a *API) verifyCertificate(c *call) (int, any, error) {
	v, err := a.d.Service.VerifyCertificate(c.ctx(), c.r.PathValue("code"), c.cfg.CertificateKey())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v, nil
}

// certificateHTML is the printable certificate page. It is written out with html.EscapeString
// rather than html/template: a template package that calls methods by reflection keeps the
// linker from dropping unused methods, which doubled the size of every HTTP function's binary.
func certificateHTML(cert app.Certificate) []byte {
	var b strings.Builder
	e := html.EscapeString
	date := func(d training.Date) string {
		if d.IsZero() {
			return ""
		}
		return d.String()
	}
	measures := func(m training.Measures) string {
		s := ""
		if m.Days != nil {
			s += m.Days.String() + "天"
		}
		if m.Hours != nil {
			if s != "" {
				s += " / "
			}
			s += m.Hours.String() + "学时"
		}
		return s
	}
	fmt.Fprintf(&b, `<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>干部教育培训学时证明（%d年度）</title>
<style>
body{font-family:"Noto Serif CJK SC","Songti SC",SimSun,serif;margin:2cm;color:#000}
h1{text-align:center;font-size:22pt;letter-spacing:.2em}
table{border-collapse:collapse;width:100%%;margin:1em 0}th,td{border:1px solid #000;padding:4px 6px;font-size:10.5pt}
th{background:#eee}.num{text-align:right}.code{font-family:monospace;word-break:break-all}
@media print{body{margin:1.5cm}}
</style></head><body>
<h1>干部教育培训学时证明</h1>
<p>兹证明 <b>%s</b>（干部编号 %s，单位 %s，类别 %s）
%d年度（截至 %s）参加干部教育培训情况如下：</p>
<table><tr><th>序号</th><th>培训类型</th><th>培训班次/课程</th><th>培训机构</th><th>起止/学习日期</th><th>天数</th><th>学时</th></tr>
`, cert.Year, e(cert.Name), e(cert.CadreID), e(cert.Unit), e(zh(string(cert.Category))), cert.Year, date(cert.AsOf))
	for i, t := range cert.Trainings {
		kind := zh(string(t.Kind))
		if t.FullTime {
			kind += "（脱产）"
		}
		when, days := date(t.StudiedOn), ""
		if t.StudiedOn.IsZero() {
			when, days = date(t.StartDate)+"—"+date(t.EndDate), t.Days.String()
		}
		fmt.Fprintf(&b, "<tr><td>%d</td><td>%s</td><td>%s</td><td>%s</td>\n<td>%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td></tr>\n",
			i+1, e(kind), e(t.CourseTitle), e(t.Institution), when, days, t.Hours)
	}
	if len(cert.Trainings) == 0 {
		b.WriteString("<tr><td colspan=\"7\">本年度无计入的培训记录</td></tr>\n")
	}
	fmt.Fprintf(&b, `</table>
<p>合计：集中培训 %v 天、%v 学时（其中脱产培训 %v 学时）；网络自学 %v 学时。</p>
<table><tr><th>培训要求</th><th>考核周期</th><th>要求</th><th>完成</th><th>状态</th></tr>
`, cert.Totals.CentralizedDays, cert.Totals.CentralizedHours, cert.Totals.FullTimeHours, cert.Totals.OnlineHours)
	for _, r := range cert.Requirements {
		fmt.Fprintf(&b, "<tr><td>%s</td><td>%s—%s</td><td>%s</td><td>%s</td><td>%s</td></tr>",
			e(zh(r.ID)), date(r.Window.Start), date(r.Window.End), measures(r.Target), measures(r.Achieved), e(stateLabel(r.State)))
	}
	fmt.Fprintf(&b, `
</table>
<p>总体状态：<b>%s</b></p>
<p>验证码：<span class="code">%s</span><br>验证方式：GET /v1/certificates/%s（无需密钥；证明内容如有变动，验证结果为“changed”）</p>
</body></html>
`, e(stateLabel(cert.Overall)), e(cert.Code), e(cert.Code))
	return []byte(b.String())
}

func (a *API) certificatePage(c *call, cert app.Certificate) (int, any, error) {
	page := certificateHTML(cert)
	h := c.w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(page)
	return 0, nil, nil
}
