package httpapi

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/cadre-training/cadretrain/shared/training"
)

// Chinese for Chinese users (docs/api.md “Language”): Accept-Language zh / zh-CN / zh-Hans …
// gives problem titles, details and the common field messages in Chinese, and labels for codes
// (states, categories, requirements) in Chinese. English is the default. Every translation is in
// this file: the tables below.

// lang is a response language.
type lang string

const (
	langEN lang = "en"
	langZH lang = "zh"
)

// contentLanguage is the Content-Language a response in each language carries.
var contentLanguage = map[lang]string{langEN: "en", langZH: "zh-CN"}

// negotiate picks zh or en from an Accept-Language header (RFC 9110 §12.5.4): the highest
// quality among zh* and en* wins, the earlier on a tie; anything else, or nothing, is English.
func negotiate(header string) lang {
	best, bestQ := langEN, -1.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		var l lang
		switch primary {
		case "zh":
			l = langZH
		case "en":
			l = langEN
		default:
			continue
		}
		if q > 0 && q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

// langOf is the language the request asks for.
func langOf(r *http.Request) lang { return negotiate(r.Header.Get("Accept-Language")) }

// labels are the words shown beside codes, per language.
var labels = map[string]map[lang]string{
	// states (docs/rules.md “Evaluation”)
	"met":      {langEN: "met", langZH: "已达标"},
	"on_track": {langEN: "on track", langZH: "进度正常"},
	"at_risk":  {langEN: "at risk", langZH: "有未达标风险"},
	"unmet":    {langEN: "unmet", langZH: "未达标"},
	// categories (the policy file's category titles)
	"county_and_above":   {langEN: "county level and above", langZH: "县处级和四级调研员及相当层次职级以上"},
	"township_and_below": {langEN: "township level and below", langZH: "乡科级和一级主任科员及相当层次职级以下"},
	// requirements (docs/rules.md “Every figure and its source”)
	"centralized_5y":             {langEN: "centralized training per plan period", langZH: "五年规划期内集中培训"},
	"centralized_annual":         {langEN: "centralized training per year", langZH: "每年集中培训"},
	"online_annual":              {langEN: "online self-study per year", langZH: "每年网络自学"},
	"leadership_party_school_5y": {langEN: "party-school training of leadership-team members per plan period", langZH: "领导班子成员五年内党校（行政学院）培训"},
	"promotion_training":         {langEN: "training on promotion", langZH: "任职培训"},
	"initial_training":           {langEN: "initial training of new civil servants", langZH: "初任培训"},
	// record kinds and form entry states
	"centralized": {langEN: "centralized training", langZH: "集中培训"},
	"online":      {langEN: "online self-study", langZH: "网络自学"},
	"active":      {langEN: "active", langZH: "有效"},
	"voided":      {langEN: "voided", langZH: "已作废"},
	"withdrawn":   {langEN: "withdrawn", langZH: "已撤回"},
	// reasons for the 补训 list (docs/api.md “Unit report”)
	"leader_no_party_school": {langEN: "leader without party-school training in the plan period", langZH: "领导干部5年内未参加党校（行政学院）系统培训"},
	"unmet_last_year":        {langEN: "unmet last year", langZH: "上年度培训未达标"},
}

// label is the word for code in l; a code without one is shown as itself.
func label(l lang, code string) string {
	if t, ok := labels[code][l]; ok {
		return t
	}
	return code
}

// titles of problems, per error code.
var titles = map[string]map[lang]string{
	training.EINVALID:     {langEN: "Invalid request", langZH: "请求无效"},
	training.EUNAUTHED:    {langEN: "Unauthorized", langZH: "未通过身份验证"},
	training.EFORBIDDEN:   {langEN: "Forbidden", langZH: "无权操作"},
	training.ENOTFOUND:    {langEN: "Not found", langZH: "未找到"},
	training.ECONFLICT:    {langEN: "Conflict", langZH: "冲突"},
	training.ETOOLARGE:    {langEN: "Payload too large", langZH: "请求过大"},
	training.EUNSUPPORTED: {langEN: "Unsupported media type", langZH: "不支持的媒体类型"},
	training.EINTERNAL:    {langEN: "Internal error", langZH: "内部错误"},
}

// zhDetail opens the Chinese detail of a problem whose English detail has no translation below;
// the English follows in brackets, so nothing is lost.
var zhDetail = map[string]string{
	training.EINVALID:     "请求无效",
	training.EUNAUTHED:    "身份验证失败",
	training.EFORBIDDEN:   "无权进行此操作",
	training.ENOTFOUND:    "未找到所请求的内容",
	training.ECONFLICT:    "与已有数据冲突",
	training.ETOOLARGE:    "请求超出限制",
	training.EUNSUPPORTED: "请求的媒体类型不受支持",
	training.EINTERNAL:    "内部错误",
}

// zhMessages translate whole English messages (problem details and field messages) into
// Chinese; $1, $2 … stand for the pattern's groups. Messages not listed stay English (field
// messages) or get zhDetail (details).
var zhMessages = []struct {
	re *regexp.Regexp
	zh string
}{
	// problem details
	m(`the request has invalid fields`, "请求中有无效字段"),
	m(`the completion has invalid fields`, "该条完成记录中有无效字段"),
	m(`authentication failed: send Authorization: Bearer <api key> with a valid key`, "身份验证失败：请以 Authorization: Bearer <API 密钥> 发送有效的密钥"),
	m(`the webhook could not be verified: .*`, "无法验证该回调：平台未知、签名错误或缺失，或时间戳与服务器时钟相差超过 300 秒"),
	m(`this API key's role "(.*)" may not do this \(needs "(.*)"\)`, `此 API 密钥的角色"$1"无权进行此操作（需要"$2"）`),
	m(`unit (.*) is outside the units of this API key`, "单位 $1 不在此 API 密钥的授权范围内"),
	m(`"all" needs an API key whose units include the root \(""\)`, `"all" 需要授权范围包含全部单位（""）的 API 密钥`),
	m(`origin "(.*)" is not allowed to call this API .*`, `来源 "$1" 未获准调用本接口（见配置中的 cors_origins）`),
	m(`cadre "?([^"]*)"? not found`, `未找到干部 "$1"`),
	m(`record "?([^"]*)"? not found`, `未找到培训记录 "$1"`),
	m(`no job "?([^"]*)"?`, `未找到任务 "$1"`),
	m(`no (?:status )?snapshot (?:of|for) cadre "?([^"]*)"?`, `干部 "$1" 尚无学时状态快照`),
	m(`no route (\S+) (\S+); docs/api.md lists the routes under /v1`, "没有 $1 $2 这一接口；接口清单见 docs/api.md"),
	m(`Idempotency-Key "(.*)" was already used with a different request body`, `Idempotency-Key "$1" 已用于内容不同的请求`),
	m(`event_id "(.*)" was already received from (.*) with different content`, `已从 $2 收到 event_id 为 "$1" 但内容不同的记录`),
	m(`cadre "?([^"]*)"? was changed concurrently .*`, `干部 "$1" 的档案同时被修改，请重试`),
	m(`the body is (\d+) bytes; the limit is (\d+) \(1 MiB\)`, "请求体为 $1 字节，超过上限 $2 字节（1 MiB）"),
	m(`a batch holds at most (\d+) completions, got (\d+)`, "一批最多 $1 条完成记录，实际为 $2 条"),
	m(`Content-Type must be application/json, got "(.*)"`, `Content-Type 必须为 application/json，实际为 "$1"`),
	m(`internal error; reference (\S+)`, "内部错误；参考编号 $1"),
	// field messages
	m(`is required`, "必填"),
	m(`header is required`, "请求头必填"),
	m(`is not a known field`, "不是可识别的字段"),
	m(`is given more than once`, "重复出现（同一字段只能给出一次）"),
	m(`must be a string`, "必须是字符串"),
	m(`must be true or false`, "必须是 true 或 false"),
	m(`must be a whole number`, "必须是整数"),
	m(`must be a JSON object`, "必须是 JSON 对象"),
	m(`is not valid JSON: (.*)`, "不是有效的 JSON：$1"),
	m(`must be a JSON number, not a string`, "必须是 JSON 数字，而不是字符串"),
	m(`must be a number of 学时 with at most 2 decimal places`, "必须是学时数，最多两位小数"),
	m(`must be greater than 0 \(at most 2 decimal places\)`, "必须大于 0（最多两位小数）"),
	m(`must be a date string YYYY-MM-DD`, "必须是 YYYY-MM-DD 格式的日期字符串"),
	m(`must be a date YYYY-MM-DD, got "(.*)"`, `必须是 YYYY-MM-DD 格式的日期，实际为 "$1"`),
	m(`must be a four-digit year, got "(.*)"`, `必须是四位数年份，实际为 "$1"`),
	m(`must be an RFC 3339 timestamp.*`, "必须是 RFC 3339 时间戳，如 2024-04-30T17:00:00+08:00"),
	m(`must be at most (\d+) characters`, "最多 $1 个字符"),
	m(`header must be at most (\d+) characters`, "请求头最多 $1 个字符"),
	m(`is required: centralized or online`, "必填：centralized（集中培训）或 online（网络自学）"),
	m(`must be centralized or online`, "必须是 centralized（集中培训）或 online（网络自学）"),
	m(`must be passed, failed or absent`, "必须是 passed（合格）、failed（不合格）或不填"),
	m(`is required for centralized training`, "集中培训必填"),
	m(`must not be before start_date`, "不得早于 start_date"),
	m(`is only for centralized training.*`, "仅适用于集中培训"),
	m(`applies only to centralized training`, "仅适用于集中培训"),
	m(`must be a whole number greater than 0`, "必须是大于 0 的整数"),
	m(`must be a number of days in steps of 0.5 \(e\.g\. 3 or 2\.5\)`, "必须是以 0.5 天为单位的天数（如 3 或 2.5）"),
	m(`must be greater than 0 \(in steps of 0\.5\)`, "必须大于 0（以 0.5 天为单位）"),
	m(`must not exceed the (\d+) calendar days from start_date to end_date`, "不得超过 start_date 至 end_date 的 $1 个日历日"),
	m(`must not exceed 24 学时 per day of the training \((\d+) days: at most (\d+)\)`, "每天不得超过 24 学时（$1 天：最多 $2 学时）"),
	m(`studied_on or completed_at is required for online study`, "网络自学须填写 studied_on 或 completed_at"),
	m(`must not be in the future`, "不得晚于今天"),
	m(`must hold at least one completion`, "至少包含一条完成记录"),
	m(`must be an array of completions`, "必须是完成记录数组"),
	m(`give exactly one of "cadre_id", "unit" or "all": true`, `须且只能给出 "cadre_id"、"unit" 或 "all": true 中的一项`),
}

func m(pattern, zh string) struct {
	re *regexp.Regexp
	zh string
} {
	return struct {
		re *regexp.Regexp
		zh string
	}{regexp.MustCompile(`^` + pattern + `$`), zh}
}

// unknownRank is the field message of a rank no policy knows; in Chinese it lists the accepted
// official titles instead of the codes.
var unknownRank = regexp.MustCompile(`^unknown rank ("[^"]*"); accepted: `)

// translate returns msg in l, or ok=false when the table has no translation.
func (a *API) translate(l lang, msg string) (string, bool) {
	if l != langZH {
		return msg, true
	}
	if g := unknownRank.FindStringSubmatch(msg); g != nil && a.d.Service != nil {
		return "未知职级 " + g[1] + "；可用职级（官方名称，或其代码）：" + strings.Join(a.rankTitles(), "、"), true
	}
	for _, t := range zhMessages {
		if t.re.MatchString(msg) {
			return t.re.ReplaceAllString(msg, t.zh), true
		}
	}
	return msg, false
}

// rankTitles lists the official titles of every rank of the policies in force, in policy order.
func (a *API) rankTitles() []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range a.d.Service.Policies().Policies {
		for _, c := range p.Categories {
			for _, r := range c.Ranks {
				if !seen[r.Title] {
					seen[r.Title] = true
					out = append(out, r.Title)
				}
			}
		}
	}
	return out
}

// localize renders a problem in l: title, detail and field messages.
func (a *API) localize(l lang, code string, p *Problem) {
	p.Title = titles[code][l]
	if l == langEN {
		return
	}
	if d, ok := a.translate(l, p.Detail); ok {
		p.Detail = d
	} else {
		p.Detail = zhDetail[code] + "（" + p.Detail + "）"
	}
	if len(p.Errors) > 0 {
		out := make([]training.FieldError, len(p.Errors))
		for i, f := range p.Errors {
			out[i] = f
			out[i].Message, _ = a.translate(l, f.Message)
		}
		p.Errors = out
	}
}
