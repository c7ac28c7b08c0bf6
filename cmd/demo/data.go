package main

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/cadre-training/cadretrain/shared/training"
)

// The demo data set: deterministic for a given "today" (China Standard Time). Amounts that decide
// on_track versus at_risk are derived from how much of the current year has elapsed, so the states
// stay interesting whatever the date; every record is dated on or before today.

// Unit is an organisation unit of the demo, with the HR key that may write to it.
type Unit struct {
	Path  string // e.g. cn/cq/yuzhong/xinfang
	Short string // cadre id prefix
	Name  string // for the summary
	Key   string // "cq" or "sc": which HR key covers it
	// School is the provincial party school the unit's cadres attend.
	School string
}

// Units of the demo.
var Units = []Unit{
	{"cn/cq/yuzhong/xinfang", "yz", "渝中区信访办", "cq", "中共重庆市委党校（重庆行政学院）"},
	{"cn/cq/jiangbei/xinfang", "jb", "江北区信访办", "cq", "中共重庆市委党校（重庆行政学院）"},
	{"cn/cq/xinfang-bureau", "xfj", "重庆市信访办", "cq", "中共重庆市委党校（重庆行政学院）"},
	{"cn/sc/chengdu/xinfang", "cd", "成都市信访局", "sc", "中共四川省委党校（四川行政学院）"},
}

// Rank is a rank of docs/rules.md §1 by code and official title.
type Rank struct{ Code, Title string }

// County-and-above and township-and-below ranks the demo draws from (a 信访 office has no
// national or provincial leaders).
var (
	countyRanks = []Rank{
		{"bureau_deputy", "厅局级副职"}, {"county_principal", "县处级正职"}, {"county_deputy", "县处级副职"},
		{"inspector_2", "二级巡视员"}, {"researcher_1", "一级调研员"}, {"researcher_2", "二级调研员"},
		{"researcher_3", "三级调研员"}, {"researcher_4", "四级调研员"},
	}
	townshipRanks = []Rank{
		{"township_principal", "乡科级正职"}, {"township_deputy", "乡科级副职"},
		{"principal_staff_1", "一级主任科员"}, {"principal_staff_2", "二级主任科员"},
		{"principal_staff_3", "三级主任科员"}, {"principal_staff_4", "四级主任科员"},
		{"staff_1", "一级科员"}, {"staff_2", "二级科员"}, {"clerk", "办事员"},
	}
)

// Profile is the body of PUT /v1/cadres/{id}.
type Profile struct {
	Name             string        `json:"name"`
	Unit             string        `json:"unit"`
	Rank             string        `json:"rank"`
	RankEffectiveOn  training.Date `json:"rank_effective_on,omitzero"`
	LeadershipMember bool          `json:"leadership_member"`
	JoinedOn         training.Date `json:"joined_on,omitzero"`
}

// Cadre is one demo cadre: its profile, and a second profile when its rank changes during the year.
type Cadre struct {
	ID       string
	Scenario string
	UnitIdx  int
	Profile  Profile
	Change   *Profile // PUT again with the new rank and rank_effective_on
}

// SelfStudy is one POST /v1/cadres/{id}/self-study.
type SelfStudy struct {
	CadreID        string         `json:"-"`
	IdempotencyKey string         `json:"-"`
	Hours          training.Hours `json:"hours"`
	StudiedOn      training.Date  `json:"studied_on"`
	CourseTitle    string         `json:"course_title"`
	Source         string         `json:"source"`
}

// Completion is one completion of the webhook (docs/api.md “Training records”).
type Completion struct {
	EventID         string         `json:"event_id"`
	CadreID         string         `json:"cadre_id"`
	Kind            string         `json:"kind"`
	FullTime        *bool          `json:"full_time,omitempty"`
	CourseID        string         `json:"course_id,omitempty"`
	CourseTitle     string         `json:"course_title,omitempty"`
	Institution     string         `json:"institution,omitempty"`
	InstitutionType string         `json:"institution_type,omitempty"`
	StartDate       training.Date  `json:"start_date,omitzero"`
	EndDate         training.Date  `json:"end_date,omitzero"`
	Days            training.Days  `json:"days,omitzero"`
	Hours           training.Hours `json:"hours"`
	Assessment      string         `json:"assessment,omitempty"`
	CompletedAt     string         `json:"completed_at,omitempty"`
}

// Void is a record to void after loading, named by the completion that created it.
type Void struct {
	CadreID, EventID, Reason string
}

// Dataset is everything the demo loads.
type Dataset struct {
	Today       training.Date
	Cadres      []Cadre
	SelfStudy   []SelfStudy
	Completions []Completion // sent in batches of BatchSize, except Single
	Single      []Completion // sent one per request (a plain completion body)
	Voids       []Void
}

// BatchSize is how many completions the demo puts in one webhook request (API limit: 100).
const BatchSize = 40

var (
	surnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董")
	given    = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建国志文斌宇浩凯晨欣怡琳雪梅")
)

// scenarios: township_and_below first, then county_and_above. Each is a small story told by its records.
var scenarios = []string{
	"t_met", "t_hours", "t_pace", "t_behind", "t_lastunmet", "t_failed", "t_promoted", "t_1month",
	"c_3months", "c_2months", "c_under2", "c_2weeks", "c_voided", "c_hours", "c_online_behind",
}

// NumCadres is the size of the demo.
const NumCadres = 50

type builder struct {
	ds      *Dataset
	rng     *rand.Rand
	today   training.Date
	y, p    int // current and previous year
	n, days int // days of the current year elapsed (through today, inclusive) and in the year
	evt     map[string]int
}

// Generate builds the demo data set for today (a date in China Standard Time).
func Generate(today training.Date) *Dataset {
	b := &builder{
		ds:    &Dataset{Today: today},
		rng:   rand.New(rand.NewPCG(20231, 20271)),
		today: today,
		y:     today.Year,
		p:     today.Year - 1,
		evt:   map[string]int{},
	}
	jan1 := training.Date{Year: b.y, Month: time.January, Day: 1}
	b.n = jan1.DaysThrough(today)
	b.days = jan1.DaysThrough(training.Date{Year: b.y, Month: time.December, Day: 31})
	perUnit := map[int]int{}
	for i := range NumCadres {
		u := i % len(Units)
		perUnit[u]++
		c := Cadre{
			ID:       fmt.Sprintf("demo-%s-%02d", Units[u].Short, perUnit[u]),
			Scenario: scenarios[i%len(scenarios)],
			UnitIdx:  u,
		}
		name := string(surnames[b.rng.IntN(len(surnames))])
		for range 1 + b.rng.IntN(2) {
			name += string(given[b.rng.IntN(len(given))])
		}
		ranks := townshipRanks
		if c.Scenario[0] == 'c' {
			ranks = countyRanks
		}
		c.Profile = Profile{
			Name:     name,
			Unit:     Units[u].Path,
			Rank:     b.rankName(ranks[b.rng.IntN(len(ranks))]),
			JoinedOn: training.Date{Year: b.y - 3 - b.rng.IntN(20), Month: time.Month(1 + b.rng.IntN(12)), Day: 1},
		}
		// The current rank was reached some years ago (given, so that a second run's PUT is no change).
		c.Profile.RankEffectiveOn = training.Date{Year: b.y - 2 - b.rng.IntN(3), Month: time.Month(1 + b.rng.IntN(12)), Day: 1}
		if c.Profile.RankEffectiveOn.Before(c.Profile.JoinedOn) {
			c.Profile.RankEffectiveOn = c.Profile.JoinedOn
		}
		b.ds.Cadres = append(b.ds.Cadres, c)
		b.scenario(&b.ds.Cadres[len(b.ds.Cadres)-1], i)
	}
	return b.ds
}

// rankName gives the code or the Chinese title: the API accepts both.
func (b *builder) rankName(r Rank) string {
	if b.rng.IntN(2) == 0 {
		return r.Code
	}
	return r.Title
}

func (b *builder) date(year int, m time.Month, d int) training.Date {
	return training.Date{Year: year, Month: m, Day: d}
}

// inYear returns an inclusive span of length days ending no later than today: the span starting on
// start, moved back if it would end after today.
func (b *builder) span(start training.Date, days int) (training.Date, training.Date) {
	end := start.AddDays(days - 1)
	if end.After(b.today) {
		end = b.today
		start = end.AddDays(-(days - 1))
	}
	return start, end
}

// pace is the smallest amount not behind a straight-line pace toward target this year (docs/rules.md §3).
func (b *builder) pace(target int64) int64 {
	return (target*int64(b.n) + int64(b.days) - 1) / int64(b.days)
}

func (b *builder) eventID(c *Cadre) string {
	b.evt[c.ID]++
	return fmt.Sprintf("%s-e%02d", c.ID, b.evt[c.ID])
}

var (
	trainingCenter = "国家信访局信访干部教育培训中心"
	pudong         = "中国浦东干部学院"
)

type centralized struct {
	title, institution, itype string
	fullTime                  bool
	start, end                training.Date
	hours                     training.Hours
	assessment                string
	single                    bool
}

func (b *builder) centralized(c *Cadre, t centralized) Completion {
	cm := Completion{
		EventID: b.eventID(c), CadreID: c.ID, Kind: "centralized",
		CourseID:    fmt.Sprintf("cls-%d%02d-%s", t.start.Year, int(t.start.Month), courseCode(t.title)),
		CourseTitle: t.title, Institution: t.institution, InstitutionType: t.itype,
		StartDate: t.start, EndDate: t.end, Hours: t.hours, Assessment: t.assessment,
		CompletedAt: t.end.String() + "T17:00:00+08:00",
	}
	ft := t.fullTime
	cm.FullTime = &ft
	if t.single {
		b.ds.Single = append(b.ds.Single, cm)
	} else {
		b.ds.Completions = append(b.ds.Completions, cm)
	}
	return cm
}

// nonFT is a part-time (不脱产) training in the unit, 8 学时 a day unless hours is given.
func (b *builder) nonFT(c *Cadre, title string, start training.Date, days int, hours training.Hours) Completion {
	s, e := b.span(start, days)
	if hours == 0 {
		hours = training.HoursOf(int64(8 * days))
	}
	return b.centralized(c, centralized{title: title, institution: trainingCenter, itype: "training_center",
		start: s, end: e, hours: hours, assessment: "passed"})
}

var onlineTitles = []string{
	"《信访工作条例》解读", "新时代“枫桥经验”与矛盾纠纷化解", "习近平新时代中国特色社会主义思想专题",
	"信访工作法治化建设", "群众工作方法与沟通技巧", "人民建议征集工作实务", "网上信访业务规范", "领导干部网络安全知识",
}

// online records total 学时 for the cadre in year, in several pieces spread over the year (up to
// today), through the HR self-study endpoint for even-numbered cadres and the platform otherwise.
func (b *builder) online(c *Cadre, i, year int, total training.Hours) {
	if total <= 0 {
		return
	}
	from := b.date(year, time.January, 1)
	to := b.date(year, time.December, 31)
	if to.After(b.today) {
		to = b.today
	}
	k := 3 + b.rng.IntN(4)
	if int64(total) < int64(k)*100 {
		k = 1
	}
	span := from.DaysThrough(to)
	var sum training.Hours
	for j := range k {
		h := training.Hours(int64(total) / int64(k) / 50 * 50) // whole or half 学时
		if j == k-1 {
			h = total - sum // the remainder: exact, may carry hundredths
		}
		sum += h
		on := from.AddDays((j + 1) * (span - 1) / (k + 1))
		title := onlineTitles[(i+j)%len(onlineTitles)]
		if i%2 == 0 {
			b.ds.SelfStudy = append(b.ds.SelfStudy, SelfStudy{
				CadreID: c.ID, IdempotencyKey: fmt.Sprintf("%s-ss-%d-%d", c.ID, year, j+1),
				Hours: h, StudiedOn: on, CourseTitle: title, Source: "hr-demo",
			})
		} else {
			b.ds.Completions = append(b.ds.Completions, Completion{
				EventID: b.eventID(c), CadreID: c.ID, Kind: "online", CourseTitle: title,
				CourseID: fmt.Sprintf("web-%d-%02d", year, (i+j)%len(onlineTitles)),
				Hours:    h, CompletedAt: on.String() + "T20:30:00+08:00",
			})
		}
	}
}

// Online amounts for the current year.
func (b *builder) onlineMet() training.Hours {
	return training.HoursOf(50 + int64(b.rng.IntN(4))*5) // 50, 55, 60 or 65
}
func (b *builder) onlinePace() training.Hours {
	h := training.Hours(b.pace(5000))
	if h >= training.HoursOf(50) {
		h = training.HoursOf(50)
	}
	return h
}
func (b *builder) onlineBehind() training.Hours { return training.Hours(b.pace(5000) / 3) }

func (b *builder) scenario(c *Cadre, i int) {
	y, p := b.y, b.p
	school := Units[c.UnitIdx].School
	jan := func(year int) training.Date { return b.date(year, time.January, 1) }
	// A date in the current year at the given fraction of the days elapsed so far.
	inY := func(frac float64) training.Date { return jan(y).AddDays(int(frac * float64(b.n-1))) }
	switch c.Scenario {
	case "t_met": // both annual quotas met this year and last
		b.nonFT(c, "信访干部业务能力提升班", inY(0.2), 5, 0)
		b.nonFT(c, "《信访工作条例》专题培训班", inY(0.6), 8, 0)
		b.online(c, i, y, b.onlineMet())
		b.nonFT(c, "信访干部业务能力提升班", b.date(p, time.May, 12), 12, 0)
		b.online(c, i, p, b.onlineMet())
	case "t_hours": // 10 days but 92.5 学时: the hours measure meets the target; 40 × 1.25 = exactly 50 online
		b.nonFT(c, "网上信访业务培训", inY(0.3), 5, training.HoursOf(46))
		b.nonFT(c, "人民建议征集工作培训", inY(0.7), 5, training.Hours(4650))
		for j := range 40 {
			b.ds.Completions = append(b.ds.Completions, Completion{
				EventID: b.eventID(c), CadreID: c.ID, Kind: "online", CourseTitle: onlineTitles[j%len(onlineTitles)],
				Hours: training.Hours(125), CompletedAt: inY(float64(j+1)/41).String() + "T21:00:00+08:00",
			})
		}
		b.nonFT(c, "信访干部业务能力提升班", b.date(p, time.June, 2), 12, 0)
		b.online(c, i, p, b.onlineMet())
	case "t_pace": // exactly on pace: on_track
		d := int(b.pace(12))
		b.nonFT(c, "新任职干部培训班", inY(0.1), d, training.HoursOf(int64(7*d)))
		b.online(c, i, y, b.onlinePace())
		b.nonFT(c, "新任职干部培训班", b.date(p, time.April, 8), 13, 0)
		b.online(c, i, p, b.onlineMet())
	case "t_behind": // far behind on every measure: at_risk
		b.nonFT(c, "信访积案化解专题培训", inY(0.4), 3, 0)
		b.online(c, i, y, b.onlineBehind())
		b.nonFT(c, "信访干部业务能力提升班", b.date(p, time.September, 15), 12, 0)
		b.online(c, i, p, b.onlineMet())
	case "t_lastunmet": // last year short on both quotas (unmet), this year on track
		b.nonFT(c, "信访积案化解专题培训", b.date(p, time.October, 20), 6, 0)
		b.online(c, i, p, training.HoursOf(32))
		b.nonFT(c, "信访干部业务能力提升班", inY(0.5), 13, 0)
		b.online(c, i, y, b.onlinePace())
	case "t_failed": // a full-time class failed: no 学时, and not eligible for 优秀 this year
		s, e := b.span(inY(0.3), 15)
		b.centralized(c, centralized{title: "基层信访干部培训班", institution: school, itype: "party_school",
			fullTime: true, start: s, end: e, hours: training.HoursOf(120), assessment: "failed"})
		b.nonFT(c, "网上信访业务培训", inY(0.8), 4, 0)
		b.online(c, i, y, b.onlineMet())
		b.nonFT(c, "信访干部业务能力提升班", b.date(p, time.March, 6), 12, 0)
		b.online(c, i, p, b.onlineMet())
	case "t_promoted": // promoted to county level on 7-01: judged as county_and_above from then on
		c.Profile.Rank = b.rankName(Rank{"principal_staff_1", "一级主任科员"})
		c.Profile.RankEffectiveOn = jan(p)
		ch := c.Profile
		ch.Rank = b.rankName(Rank{"researcher_4", "四级调研员"})
		ch.RankEffectiveOn = b.date(y, time.July, 1)
		if ch.RankEffectiveOn.After(b.today) {
			ch.RankEffectiveOn = b.today
		}
		c.Change = &ch
		b.nonFT(c, "信访干部业务能力提升班", inY(0.25), 8, 0)
		b.online(c, i, y, b.onlineMet())
		b.nonFT(c, "信访干部业务能力提升班", b.date(p, time.May, 19), 12, 0)
		b.online(c, i, p, b.onlineMet())
	case "t_1month": // a one-month full-time class: appraisal form only
		s := b.date(y, time.April, 7)
		e := s.AddMonthsClamped(1).AddDays(-1)
		s, e = b.span(s, s.DaysThrough(e))
		b.centralized(c, centralized{title: "年轻干部培训班", institution: school, itype: "party_school",
			fullTime: true, start: s, end: e, hours: training.HoursOf(180), assessment: "passed"})
		b.online(c, i, y, b.onlinePace())
		b.online(c, i, p, b.onlineMet()) // no centralized training last year: unmet
	case "c_3months": // leadership member, a 3-month party-school class last year: everything met
		c.Profile.LeadershipMember = true
		b.centralized(c, centralized{title: "中青年干部培训班", institution: school, itype: "party_school",
			fullTime: true, start: b.date(p, time.September, 1), end: b.date(p, time.November, 30),
			hours: training.HoursOf(480), assessment: "passed"})
		b.online(c, i, y, b.onlineMet())
		b.online(c, i, p, b.onlineMet())
	case "c_2months": // exactly 2 calendar months (03-01..04-30): appointment form, 2 months
		c.Profile.LeadershipMember = true
		b.centralized(c, centralized{title: "县处级领导干部进修班", institution: school, itype: "party_school",
			fullTime: true, start: b.date(p, time.March, 1), end: b.date(p, time.April, 30),
			hours: training.HoursOf(320), assessment: "passed"})
		b.nonFT(c, "信访工作法治化专题研讨班", inY(0.5), 10, 0)
		b.online(c, i, y, b.onlineMet())
		b.online(c, i, p, b.onlineMet())
	case "c_under2": // 03-01..04-29: one day short of 2 calendar months (no appointment entry), yet 60 days
		c.Profile.LeadershipMember = true
		b.centralized(c, centralized{title: "县处级领导干部进修班", institution: school, itype: "party_school",
			fullTime: true, start: b.date(p, time.March, 1), end: b.date(p, time.April, 29),
			hours: training.HoursOf(300), assessment: "passed"})
		b.online(c, i, y, b.onlinePace())
		b.online(c, i, p, b.onlineMet())
	case "c_2weeks": // a two-week full-time class at an administrative college
		s, e := b.span(inY(0.4), 14)
		b.centralized(c, centralized{title: "信访工作专题研修班", institution: "国家行政学院", itype: "party_school",
			fullTime: true, start: s, end: e, hours: training.HoursOf(112), assessment: "passed"})
		b.online(c, i, y, b.onlineMet())
		b.online(c, i, p, training.HoursOf(41)) // last year short online: unmet
	case "c_voided": // a 3-month class reported in error and voided; 12-31..02-27 is 2 months (clamped) but 59 days
		c.Profile.LeadershipMember = true
		v := b.centralized(c, centralized{title: "中青年干部培训班", institution: school, itype: "party_school",
			fullTime: true, start: b.date(p, time.September, 1), end: b.date(p, time.November, 30),
			hours: training.HoursOf(480), assessment: "passed", single: true})
		b.ds.Voids = append(b.ds.Voids, Void{CadreID: c.ID, EventID: v.EventID, Reason: "误报：该干部未参加此班次（组织部门核实更正）"})
		s := b.date(p, time.December, 31)
		e := s.AddMonthsClamped(2).AddDays(-1)
		if !e.After(b.today) {
			b.centralized(c, centralized{title: "县处级领导干部进修班", institution: pudong, itype: "party_school",
				fullTime: true, start: s, end: e, hours: training.HoursOf(400), assessment: "passed"})
		}
		b.online(c, i, y, b.onlineMet())
		b.online(c, i, p, b.onlineMet())
	case "c_hours": // part-time trainings only: 556 学时 meet the 5-year target by hours (67 days do not)
		b.nonFT(c, "信访干部业务能力提升班", b.date(p, time.March, 3), 25, training.HoursOf(200))
		b.nonFT(c, "信访积案化解专题培训", b.date(p, time.September, 8), 20, training.HoursOf(180))
		b.nonFT(c, "网上信访业务培训", inY(0.2), 22, training.HoursOf(176))
		b.online(c, i, y, b.onlineMet())
		b.online(c, i, p, b.onlineMet())
	case "c_online_behind": // centralized quota met at a cadre college, online study lagging
		b.centralized(c, centralized{title: "中青年干部培训班", institution: pudong, itype: "party_school",
			fullTime: true, start: b.date(p, time.May, 8), end: b.date(p, time.August, 7),
			hours: training.HoursOf(500), assessment: "passed"})
		b.online(c, i, y, b.onlineBehind())
		b.online(c, i, p, training.HoursOf(28))
	default:
		panic("unknown scenario " + c.Scenario)
	}
}

func courseCode(title string) string {
	var h uint32 = 2166136261
	for _, r := range title {
		h = (h ^ uint32(r)) * 16777619
	}
	return fmt.Sprintf("%04x", h&0xffff)
}
