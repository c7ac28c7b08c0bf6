package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Kind is what a table holds: cadre profiles or training records, told by its header.
type Kind string

const (
	Profiles Kind = "profiles"
	Records  Kind = "records"
)

// column is one importable column: its field name (as in the API) and the headers that name it.
type column struct {
	field   string
	headers []string
}

// profileColumns and recordColumns are the accepted headers (docs/import.md); a header matches
// case-insensitively after trimming spaces. Field names are those of the API's JSON bodies.
var profileColumns = []column{
	{"cadre_id", []string{"cadre_id", "干部编号", "干部id"}},
	{"name", []string{"name", "姓名"}},
	{"unit", []string{"unit", "单位", "单位路径"}},
	{"rank", []string{"rank", "职级"}},
	{"rank_effective_on", []string{"rank_effective_on", "职级生效日期", "任职日期"}},
	{"leadership_member", []string{"leadership_member", "领导班子成员"}},
	{"leadership_effective_on", []string{"leadership_effective_on", "领导班子任职日期"}},
	{"joined_on", []string{"joined_on", "入职日期", "参加工作日期"}},
}

var recordColumns = []column{
	{"cadre_id", []string{"cadre_id", "干部编号", "干部id"}},
	{"event_id", []string{"event_id", "记录编号", "事件编号"}},
	{"kind", []string{"kind", "培训类型", "类型"}},
	{"full_time", []string{"full_time", "脱产"}},
	{"course_id", []string{"course_id", "课程编号"}},
	{"course_title", []string{"course_title", "课程名称", "培训名称"}},
	{"institution", []string{"institution", "培训机构"}},
	{"institution_type", []string{"institution_type", "机构类型"}},
	{"start_date", []string{"start_date", "开始日期"}},
	{"end_date", []string{"end_date", "结束日期"}},
	{"days", []string{"days", "天数"}},
	{"hours", []string{"hours", "学时"}},
	{"studied_on", []string{"studied_on", "学习日期"}},
	{"completed_at", []string{"completed_at", "完成时间"}},
	{"duration_minutes", []string{"duration_minutes", "时长分钟"}},
	{"assessment", []string{"assessment", "考核结果"}},
}

// header maps a table's header row to field → column index, and says which kind it is: a table
// with an event_id column holds records, one with a name column (and no event_id) profiles. An
// unknown header is an error, not silently dropped.
func header(row []string) (Kind, map[string]int, error) {
	cells := make([]string, len(row))
	for i, h := range row {
		cells[i] = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
	}
	kind := Profiles
	for _, c := range recordColumns[1].headers {
		for _, h := range cells {
			if h == c {
				kind = Records
			}
		}
	}
	cols := profileColumns
	if kind == Records {
		cols = recordColumns
	}
	idx := map[string]int{}
	var unknown []string
	for i, h := range cells {
		if h == "" {
			continue
		}
		found := false
		for _, c := range cols {
			for _, name := range c.headers {
				if h == name {
					if _, dup := idx[c.field]; dup {
						return "", nil, fmt.Errorf("header: column %q appears twice", c.field)
					}
					idx[c.field], found = i, true
				}
			}
		}
		if !found {
			unknown = append(unknown, row[i])
		}
	}
	if len(unknown) > 0 {
		return "", nil, fmt.Errorf("header: unknown column(s) %s for a %s table (docs/import.md lists the columns)", strings.Join(unknown, ", "), kind)
	}
	need := []string{"cadre_id", "name"}
	if kind == Records {
		need = []string{"cadre_id", "event_id"}
	}
	for _, n := range need {
		if _, ok := idx[n]; !ok {
			return "", nil, fmt.Errorf("header: no %s column for a %s table", n, kind)
		}
	}
	return kind, idx, nil
}

// table is one sheet of input: a CSV file or one sheet of an xlsx workbook.
type table struct {
	name string // file, or file#sheet
	kind Kind
	cols map[string]int
	rows func() (rowIter, error)
}

// rowIter returns data rows with their line (CSV: the physical line the row starts on; xlsx: the
// row number), io.EOF after the last.
type rowIter interface {
	next() (line int, cells []string, err error)
	close() error
}

// openTables reads the header of every table of the file (one for CSV, one per non-empty sheet
// for .xlsx).
func openTables(path string) ([]table, error) {
	if strings.EqualFold(filepath.Ext(path), ".xlsx") {
		return xlsxTables(path)
	}
	it, err := openCSV(path)
	if err != nil {
		return nil, err
	}
	_, head, err := it.next()
	it.close()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file", path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	kind, cols, err := header(head)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return []table{{name: path, kind: kind, cols: cols, rows: func() (rowIter, error) {
		it, err := openCSV(path)
		if err == nil {
			_, _, err = it.next() // the header
		}
		return it, err
	}}}, nil
}

type csvIter struct {
	f *os.File
	r *csv.Reader
}

func openCSV(path string) (*csvIter, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, 1<<20)
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\ufeff")) {
		br.Discard(3) // a UTF-8 BOM, as Excel writes
	}
	r := csv.NewReader(br)
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	return &csvIter{f: f, r: r}, nil
}

func (c *csvIter) next() (int, []string, error) {
	rec, err := c.r.Read()
	line, _ := c.r.FieldPos(0)
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.StartLine, nil, fmt.Errorf("line %d: %v", pe.StartLine, pe.Err)
	}
	return line, rec, err
}

func (c *csvIter) close() error { return c.f.Close() }

func xlsxTables(path string) ([]table, error) {
	f, err := excelize.OpenFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	var out []table
	for _, sheet := range f.GetSheetList() {
		it, err := openSheet(path, sheet)
		if err != nil {
			return nil, err
		}
		_, head, err := it.next()
		it.close()
		if err == io.EOF {
			continue // an empty sheet
		}
		if err != nil {
			return nil, err
		}
		name := path + "#" + sheet
		kind, cols, err := header(head)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, table{name: name, kind: kind, cols: cols, rows: func() (rowIter, error) {
			it, err := openSheet(path, sheet)
			if err == nil {
				_, _, err = it.next()
			}
			return it, err
		}})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no sheet with a header", path)
	}
	return out, nil
}

type sheetIter struct {
	f    *excelize.File
	rows *excelize.Rows
	line int
}

func openSheet(path, sheet string) (*sheetIter, error) {
	f, err := excelize.OpenFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rows, err := f.Rows(sheet)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s#%s: %w", path, sheet, err)
	}
	return &sheetIter{f: f, rows: rows}, nil
}

func (s *sheetIter) next() (int, []string, error) {
	for s.rows.Next() {
		s.line++
		cells, err := s.rows.Columns()
		if err != nil {
			return s.line, nil, err
		}
		if blank(cells) {
			continue
		}
		return s.line, cells, nil
	}
	if err := s.rows.Error(); err != nil {
		return s.line, nil, err
	}
	return s.line, nil, io.EOF
}

func (s *sheetIter) close() error {
	s.rows.Close()
	return s.f.Close()
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}
