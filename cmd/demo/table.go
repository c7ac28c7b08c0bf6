package main

import (
	"io"
	"strings"
	"unicode"
)

// displayWidth is the number of terminal columns s takes: East Asian wide and fullwidth characters
// (汉字, fullwidth punctuation such as （）and ，) take two, combining marks none, the rest one.
func displayWidth(s string) int {
	w := 0
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) || r == '\u200b':
		case r >= 0x1100 && r <= 0x115f, r >= 0x2e80 && r <= 0x303e, r >= 0x3041 && r <= 0x33ff,
			r >= 0x3400 && r <= 0x4dbf, r >= 0x4e00 && r <= 0x9fff, r >= 0xa000 && r <= 0xa4cf,
			r >= 0xac00 && r <= 0xd7a3, r >= 0xf900 && r <= 0xfaff, r >= 0xfe30 && r <= 0xfe4f,
			r >= 0xff00 && r <= 0xff60, r >= 0xffe0 && r <= 0xffe6, r >= 0x20000 && r <= 0x3fffd:
			w += 2
		default:
			w++
		}
	}
	return w
}

// pad left-aligns s in a field of width columns.
func pad(s string, width int) string {
	if n := width - displayWidth(s); n > 0 {
		return s + strings.Repeat(" ", n)
	}
	return s
}

// writeTable writes rows (the first is the header) in aligned columns separated by two spaces,
// with a rule under the header. Trailing spaces are trimmed.
func writeTable(w io.Writer, rows [][]string) {
	var widths []int
	for _, row := range rows {
		for i, cell := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], displayWidth(cell))
		}
	}
	for k, row := range rows {
		var b strings.Builder
		for i, cell := range row {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(pad(cell, widths[i]))
		}
		io.WriteString(w, strings.TrimRight(b.String(), " ")+"\n")
		if k == 0 && len(rows) > 1 {
			total := 0
			for _, x := range widths {
				total += x
			}
			io.WriteString(w, strings.Repeat("-", total+2*(len(widths)-1))+"\n")
		}
	}
}
