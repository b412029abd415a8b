package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

var updateMan = flag.Bool("update-man", false, "rewrite docs/mlsbackup.1 from the commands")

// TestManPageCurrent keeps docs/mlsbackup.1 equal to what 'mlsbackup man'
// generates from the command definitions (go test ./cmd/mlsbackup -run
// TestManPageCurrent -update-man rewrites it).
func TestManPageCurrent(t *testing.T) {
	code, page, stderr := runCLI(t, "man")
	if code != exitOK || !strings.Contains(page, ".SH NAME") || !strings.Contains(page, "restore") {
		t.Fatalf("man: exit %d\n%s", code, stderr)
	}
	path := filepath.Join("..", "..", "docs", "mlsbackup.1")
	if *updateMan {
		if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != page {
		t.Fatal("docs/mlsbackup.1 is out of date: go test ./cmd/mlsbackup -run TestManPageCurrent -update-man")
	}
}

// TestFishCompletion: the fish script completes every command.
func TestFishCompletion(t *testing.T) {
	code, script, stderr := runCLI(t, "completion", "fish")
	if code != exitOK {
		t.Fatalf("completion fish: exit %d: %s", code, stderr)
	}
	for _, cmd := range []string{"restore", "verify", "outbox", "group", "snapshot", "check"} {
		if !strings.Contains(script, "complete -c mlsbackup") || !strings.Contains(script, "-a '"+cmd) {
			t.Errorf("fish completion lacks %s:\n%s", cmd, script[:min(len(script), 400)])
		}
	}
}

// manSection is one .SS subsection of the man page: its heading, its text
// lines and its option tags (the line after each .TP), as troff source.
type manSection struct {
	lines []string
	tags  []string
}

// manSections splits a page at its .SS headings, by heading text.
func manSections(t *testing.T, page string) map[string]*manSection {
	t.Helper()
	secs := map[string]*manSection{}
	var cur *manSection
	lines := strings.Split(page, "\n")
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, ".SS "):
			name := manPlain(strings.Trim(strings.TrimPrefix(l, ".SS "), `"`))
			cur = &manSection{}
			secs[name] = cur
		case strings.HasPrefix(l, ".SH "):
			cur = nil
		case cur == nil:
		case l == ".TP" && i+1 < len(lines):
			cur.tags = append(cur.tags, manPlain(lines[i+1]))
		case !strings.HasPrefix(l, "."):
			cur.lines = append(cur.lines, l)
		}
	}
	return secs
}

var (
	manFont    = regexp.MustCompile(`\\f[BIRP]`)
	manUnicode = regexp.MustCompile(`\\\[u([0-9A-F]{4,6})\]`)
	manSpace   = regexp.MustCompile(`\s+`)
)

// manPlain is the text a troff source line prints, fonts left out, with
// white space collapsed: what a reader sees, to compare with the command
// definitions.
func manPlain(s string) string {
	s = manFont.ReplaceAllString(s, "")
	s = manUnicode.ReplaceAllStringFunc(s, func(m string) string {
		r, _ := strconv.ParseUint(manUnicode.FindStringSubmatch(m)[1], 16, 32)
		return string(rune(r))
	})
	s = strings.NewReplacer(`\&`, "", `\-`, "-", `\e`, `\`).Replace(s)
	return strings.TrimSpace(manSpace.ReplaceAllString(s, " "))
}

// visitCommands calls fn with the path ("group add") of every command of
// the definitions, and whether it is hidden or under a hidden command.
func visitCommands(cmds []*cli.Command, parents string, parentHidden bool, fn func(path string, cmd *cli.Command, hidden bool)) {
	for _, c := range cmds {
		path := strings.TrimSpace(parents + " " + c.Name)
		hidden := parentHidden || c.Hidden
		fn(path, c, hidden)
		visitCommands(c.Subcommands, path, hidden, fn)
	}
}

// checkManPage checks a generated page against the definitions of def:
// every visible command and subcommand has a heading, its synopsis, usage
// and description, and a tag for each visible option; no hidden command
// or flag appears. It returns how many hidden flags and commands it saw.
func checkManPage(t *testing.T, page string, def *cli.App) (hidden int) {
	t.Helper()
	secs := manSections(t, page)
	visitCommands(def.Commands, "", false, func(path string, cmd *cli.Command, isHidden bool) {
		sec, ok := secs[path]
		if isHidden {
			hidden++
			if ok {
				t.Errorf("hidden command %q has a section", path)
			}
			return
		}
		if !ok {
			t.Errorf("command %q has no section", path)
			return
		}
		text := manPlain(strings.Join(sec.lines, "\n"))
		want := []string{def.Name + " " + path, manSpace.ReplaceAllString(cmd.ArgsUsage, " "), manSpace.ReplaceAllString(cmd.Usage, " ")}
		for _, para := range strings.Split(cmd.Description, "\n\n") {
			want = append(want, strings.TrimSpace(manSpace.ReplaceAllString(para, " ")))
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("section %q lacks %q:\n%s", path, w, text)
			}
		}
		for _, f := range cmd.Flags {
			name := "--" + f.Names()[0]
			found := false
			for _, tag := range sec.tags {
				found = found || strings.HasPrefix(tag, name+" ") || strings.HasPrefix(tag, name+",") || tag == name
			}
			visible := true
			if v, ok := f.(cli.VisibleFlag); ok {
				visible = v.IsVisible()
			}
			switch {
			case !visible && found:
				t.Errorf("section %q shows the hidden flag %s", path, name)
			case !visible:
				hidden++
			case !found:
				t.Errorf("section %q lacks the flag %s (tags %q)", path, name, sec.tags)
			}
		}
	})
	return hidden
}

// manMacro matches the requests the page may use.
var manMacro = regexp.MustCompile(`^\.(TH|SH|SS|PP|TP|B|I|BR|br|nh|ad)( |$)`)

// manEscape matches every escape sequence the page may use.
var manEscape = regexp.MustCompile(`\\(f[BIRP]|-|e|&|\[u[0-9A-F]{4,6}\])`)

// checkManSource checks that every line of page is a known request or
// text: no text line starting with an unescaped '.' or "'", no escape
// but the known ones (so no stray backslash), no raw non-ASCII byte.
func checkManSource(t *testing.T, page string) {
	t.Helper()
	for i, l := range strings.Split(strings.TrimSuffix(page, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, ".") && !manMacro.MatchString(l):
			t.Errorf("line %d starts with an unescaped '.' or an unknown request: %q", i+1, l)
		case strings.HasPrefix(l, "'"):
			t.Errorf("line %d starts with an unescaped '\\'': %q", i+1, l)
		case strings.Contains(manEscape.ReplaceAllString(l, ""), `\`):
			t.Errorf("line %d has an unknown escape or a raw backslash: %q", i+1, l)
		}
		for _, r := range l {
			if r >= 0x80 {
				t.Errorf("line %d has the raw character %q (want \\[u%04X])", i+1, r, r)
			}
		}
	}
}

// TestManPageShowsSynopsisAndDescription: the man page has, for every
// visible command and subcommand, a heading, the synopsis with its
// arguments, the usage line and the whole description, and each visible
// option; hidden flags (agent --identity) are not shown. urfave/cli's
// ToMan left out the synopsis and the description.
func TestManPageShowsSynopsisAndDescription(t *testing.T) {
	code, page, stderr := runCLI(t, "man")
	if code != exitOK {
		t.Fatalf("man: exit %d: %s", code, stderr)
	}
	def := (&app{}).cli()
	if hidden := checkManPage(t, page, def); hidden == 0 {
		t.Error("no hidden flag checked: agent --identity should be one")
	}
	checkManSource(t, page)
	for _, sec := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "GLOBAL OPTIONS", "COMMANDS", "EXIT STATUS", "ENVIRONMENT", "FILES", "SEE ALSO"} {
		if !strings.Contains(page, "\n.SH "+sec+"\n") {
			t.Errorf("no section %s", sec)
		}
	}
	for _, w := range []string{`\fBmlsbackup restore\fR [\fIoptions\fR] \fB\-\-group\fR \fIID\fR [\fB\-\-latest\fR | \fB\-\-epoch\fR \fIN\fR | \fB\-\-before\fR \fITIME\fR] | \fB\-\-all\fR`,
		".B MLSBACKUP_CONFIG\n", ".B MLSBACKUP_SIGNING_KEY\n", "age (1)"} {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

// TestManPageEscapesAndHides runs the generator on definitions made to
// trip it: description lines that start with '.' or "'", backslashes,
// non-ASCII text, options in running text, a hidden flag, a hidden
// command with a subcommand.
func TestManPageEscapesAndHides(t *testing.T) {
	def := &cli.App{
		Name:        "prog",
		Usage:       "a test program",
		Description: ".starts with a dot\n'starts with a quote\nC:\\path and \\fB — done",
		Flags:       []cli.Flag{&cli.StringFlag{Name: "conf", Usage: "read `FILE`", EnvVars: []string{"PROG_CONF"}}},
		Commands: []*cli.Command{
			{
				Name:        "run",
				Usage:       "run it",
				ArgsUsage:   "--group ID [FILE...]",
				Description: "Runs it.\n.also a dot line, with --no-merge and -d\n\n'second paragraph\nends.\nhere",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "change nothing"},
					&cli.StringFlag{Name: "secret-flag", Usage: "never shown", Hidden: true},
					&cli.IntFlag{Name: "every", Value: 3, Usage: "every `N` epochs"},
				},
				Subcommands: []*cli.Command{{Name: "sub", Usage: "a subcommand", ArgsUsage: "ID", Description: "\\ leading backslash"}},
			},
			{Name: "ghost", Usage: "hidden", Hidden: true, Description: "ghostly text", Subcommands: []*cli.Command{{Name: "inner", Usage: "ghostly too"}}},
		},
	}
	var b strings.Builder
	if err := writeManPage(&b, def); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if hidden := checkManPage(t, page, def); hidden != 3 {
		t.Errorf("checked %d hidden flags and commands, want 3", hidden)
	}
	checkManSource(t, page)
	for _, w := range []string{"\n\\&.starts with a dot\n", "\n\\&'starts with a quote\n", `C:\epath and \efB \[u2014] done`,
		`\-\-no\-merge and \-d`, "\n\\&'second paragraph\n", "ends.\\&\n", `\fB\-\-dry\-run\fR, \fB\-n\fR` + "\n",
		`\fB\-\-every\fR \fIN\fR` + "\n" + `every \fIN\fR epochs (default: 3)`, `(environment: \fBPROG_CONF\fR)`,
		`.SS "run sub"`, `\fBprog run sub\fR \fIID\fR`, `\fBprog run\fR [\fIoptions\fR] \fB\-\-group\fR \fIID\fR [\fIFILE\fR...]`,
		".B PROG_CONF\n"} {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %q:\n%s", w, page)
		}
	}
	for _, bad := range []string{"ghost", "secret", "never shown"} {
		if strings.Contains(page, bad) {
			t.Errorf("page shows hidden %q:\n%s", bad, page)
		}
	}
}

// TestManPageSeeAlsoDocs: SEE ALSO names every page of docs/ and no other.
func TestManPageSeeAlsoDocs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	var have, want []string
	for _, f := range files {
		want = append(want, "docs/"+filepath.Base(f))
	}
	for _, d := range manSeeAlso {
		have = append(have, d[0])
	}
	sort.Strings(have)
	if strings.Join(have, " ") != strings.Join(want, " ") {
		t.Errorf("SEE ALSO names %q, docs/ has %q", have, want)
	}
}
