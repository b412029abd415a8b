package main

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// This file turns the plain text of the command definitions (usages,
// descriptions, argument synopses) into man(7) source: troff's special
// characters escaped, options in bold with \- for their dashes, the
// placeholders of a synopsis in italics.

// optionWord matches an option name in running text ("--json", "-d"): a
// dash or two at the start of a word, then a letter or digit. The dashes
// inside a word ("re-join", "age-keygen") are hyphens and stay as they are.
var optionWord = regexp.MustCompile(`(^|[\s(\[{'"|=,/])(--?[A-Za-z0-9][A-Za-z0-9_-]*)`)

// labelLine matches a line that starts with a label ("bash: ...").
var labelLine = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*:\s`)

// roffEscape escapes s for use on a text line or in a macro argument:
// backslashes print as themselves, option names get \- for their dashes
// (so that they can be copied from the rendered page), and non-ASCII
// characters become \[uXXXX] escapes, which groff and mandoc read whatever
// the input encoding.
func roffEscape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = optionWord.ReplaceAllStringFunc(s, func(m string) string {
		i := strings.IndexByte(m, '-')
		return m[:i] + strings.ReplaceAll(m[i:], "-", `\-`)
	})
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t':
			b.WriteByte(' ')
		case r < 0x80 && (unicode.IsPrint(r) || r == ' '):
			b.WriteRune(r)
		case r < 0x80:
			// Other control characters have no place in a page.
		default:
			fmt.Fprintf(&b, `\[u%04X]`, r)
		}
	}
	return b.String()
}

// roffLine escapes one line of running text: [roffEscape], then [roffGuard].
func roffLine(s string) string {
	return roffGuard(roffEscape(s))
}

// roffGuard makes an escaped line text: a leading '.' or "'" (which would
// make it a request) is preceded by \&.
func roffGuard(s string) string {
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		return `\&` + s
	}
	return s
}

// roffParagraphs renders text whose paragraphs are separated by blank
// lines, as a command's Description is written for the terminal. Lines
// of prose are filled by the formatter; a paragraph whose every line
// starts with a label ("bash: ...", "zsh: ...") is a list and keeps its
// line breaks. Each paragraph after the first starts with .PP.
func roffParagraphs(text string) string {
	var b strings.Builder
	for i, para := range splitParagraphs(text) {
		if i > 0 {
			b.WriteString(".PP\n")
		}
		lines := strings.Split(para, "\n")
		list := len(lines) > 1
		for _, l := range lines {
			list = list && labelLine.MatchString(l)
		}
		for j, l := range lines {
			if list && j > 0 {
				b.WriteString(".br\n")
			}
			l = strings.TrimRight(l, " \t")
			b.WriteString(roffLine(l))
			// A period at the end of a line ends a sentence for troff,
			// which then puts two spaces after it; a lower-case word on the
			// next line says it did not ("encryption.\nsigning_key_file").
			if j+1 < len(lines) && strings.HasSuffix(l, ".") && startsLower(lines[j+1]) {
				b.WriteString(`\&`)
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// startsLower reports whether s starts with a lower-case letter.
func startsLower(s string) bool {
	for _, r := range s {
		return unicode.IsLower(r)
	}
	return false
}

// splitParagraphs splits text at blank lines, dropping empty paragraphs.
func splitParagraphs(text string) []string {
	var paras []string
	var cur []string
	for _, l := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(l) == "" {
			if len(cur) > 0 {
				paras = append(paras, strings.Join(cur, "\n"))
				cur = nil
			}
			continue
		}
		cur = append(cur, l)
	}
	if len(cur) > 0 {
		paras = append(paras, strings.Join(cur, "\n"))
	}
	return paras
}

// roffSynopsis renders a command's argument synopsis as man pages set it:
// options and literal words in bold, placeholders (words in capitals, such
// as ID, FILE or B64) in italics, brackets, bars and "..." in roman.
func roffSynopsis(args string) string {
	var b strings.Builder
	word := func(w string) {
		if w == "" {
			return
		}
		rest := ""
		if base, ok := strings.CutSuffix(w, "..."); ok && base != "" {
			w, rest = base, "..."
		}
		font := `\fB`
		if isPlaceholder(w) {
			font = `\fI`
		}
		b.WriteString(font + roffEscape(w) + `\fR` + rest)
	}
	start := 0
	for i, r := range args {
		if strings.ContainsRune(" []|()", r) {
			word(args[start:i])
			b.WriteRune(r)
			start = i + len(string(r))
		}
	}
	word(args[start:])
	return b.String()
}

// isPlaceholder reports whether a synopsis word stands for a value: it has
// a capital letter and no lower-case one and is not an option.
func isPlaceholder(w string) bool {
	if strings.HasPrefix(w, "-") {
		return false
	}
	upper := false
	for _, r := range w {
		if unicode.IsLower(r) {
			return false
		}
		upper = upper || unicode.IsUpper(r)
	}
	return upper
}

// roffUsage renders a flag's usage text, whose placeholder is written in
// backquotes ("read the configuration from `FILE`"), with the placeholder
// in italics; it returns the placeholder too ("" when there is none).
func roffUsage(usage string) (text, placeholder string) {
	i := strings.IndexByte(usage, '`')
	if i < 0 {
		return roffEscape(usage), ""
	}
	j := strings.IndexByte(usage[i+1:], '`')
	if j < 0 {
		return roffEscape(usage), ""
	}
	placeholder = usage[i+1 : i+1+j]
	text = roffEscape(usage[:i]) + `\fI` + roffEscape(placeholder) + `\fR` + roffEscape(usage[i+2+j:])
	return text, placeholder
}
