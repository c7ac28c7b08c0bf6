package httpapi

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"

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

var certPage = template.Must(template.New("cert").Funcs(template.FuncMap{
	"inc":         func(i int) int { return i + 1 },
	"state":       stateLabel,
	"requirement": func(id string) string { return zh(id) },
	"category":    func(c string) string { return zh(c) },
	"kind":        func(k training.Kind) string { return zh(string(k)) },
	"date": func(d training.Date) string {
		if d.IsZero() {
			return ""
		}
		return d.String()
	},
	"measures": func(m training.Measures) string {
		s := ""
		if m.Days != nil {
			s += strconv.Itoa(*m.Days) + "天"
		}
		if m.Hours != nil {
			if s != "" {
				s += " / "
			}
			s += m.Hours.String() + "学时"
		}
		return s
	},
}).Parse(`<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>干部教育培训学时证明（{{.Year}}年度）</title>
<style>
body{font-family:"Noto Serif CJK SC","Songti SC",SimSun,serif;margin:2cm;color:#000}
h1{text-align:center;font-size:22pt;letter-spacing:.2em}
table{border-collapse:collapse;width:100%;margin:1em 0}th,td{border:1px solid #000;padding:4px 6px;font-size:10.5pt}
th{background:#eee}.num{text-align:right}.code{font-family:monospace;word-break:break-all}
@media print{body{margin:1.5cm}}
</style></head><body>
<h1>干部教育培训学时证明</h1>
<p>兹证明 <b>{{.Name}}</b>（干部编号 {{.CadreID}}，单位 {{.Unit}}，类别 {{category .Category}}）
{{.Year}}年度（截至 {{date .AsOf}}）参加干部教育培训情况如下：</p>
<table><tr><th>序号</th><th>培训类型</th><th>培训班次/课程</th><th>培训机构</th><th>起止/学习日期</th><th>天数</th><th>学时</th></tr>
{{range $i, $t := .Trainings}}<tr><td>{{inc $i}}</td><td>{{kind $t.Kind}}{{if $t.FullTime}}（脱产）{{end}}</td><td>{{$t.CourseTitle}}</td><td>{{$t.Institution}}</td>
<td>{{if $t.StudiedOn.IsZero}}{{date $t.StartDate}}—{{date $t.EndDate}}{{else}}{{date $t.StudiedOn}}{{end}}</td><td class="num">{{if not $t.StudiedOn.IsZero}}{{else}}{{$t.Days}}{{end}}</td><td class="num">{{$t.Hours}}</td></tr>
{{else}}<tr><td colspan="7">本年度无计入的培训记录</td></tr>{{end}}
</table>
<p>合计：集中培训 {{.Totals.CentralizedDays}} 天、{{.Totals.CentralizedHours}} 学时（其中脱产培训 {{.Totals.FullTimeHours}} 学时）；网络自学 {{.Totals.OnlineHours}} 学时。</p>
<table><tr><th>培训要求</th><th>考核周期</th><th>要求</th><th>完成</th><th>状态</th></tr>
{{range .Requirements}}<tr><td>{{requirement .ID}}</td><td>{{date .Window.Start}}—{{date .Window.End}}</td><td>{{measures .Target}}</td><td>{{measures .Achieved}}</td><td>{{state .State}}</td></tr>{{end}}
</table>
<p>总体状态：<b>{{state .Overall}}</b></p>
<p>验证码：<span class="code">{{.Code}}</span><br>验证方式：GET /v1/certificates/{{.Code}}（无需密钥；证明内容如有变动，验证结果为“changed”）</p>
</body></html>
`))

func (a *API) certificatePage(c *call, cert app.Certificate) (int, any, error) {
	var buf bytes.Buffer
	if err := certPage.Execute(&buf, cert); err != nil {
		return 0, nil, err
	}
	h := c.w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(buf.Bytes())
	return 0, nil, nil
}
