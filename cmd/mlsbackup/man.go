package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// manCommand prints the man page generated from the command definitions
// (docs/mlsbackup.1 is its output, kept current by a test).
func (a *app) manCommand() *cli.Command {
	return &cli.Command{
		Name:        "man",
		Usage:       "print the man page (troff), generated from the commands' own help",
		Description: "mlsbackup man > mlsbackup.1; man ./mlsbackup.1 (docs/mlsbackup.1 is the same page)",
		Action: func(c *cli.Context) error {
			if err := positional(c, 0, 0, ""); err != nil {
				return err
			}
			if err := writeManPage(a.st.out, c.App); err != nil {
				return fmt.Errorf("man: %w", err)
			}
			return nil
		},
	}
}

// writeManPage writes the man(7) page of app to w: NAME, SYNOPSIS and
// DESCRIPTION from the app, GLOBAL OPTIONS, one COMMANDS subsection per
// visible command and subcommand (its synopsis, usage, description and
// options), then EXIT STATUS, ENVIRONMENT, FILES and SEE ALSO. Hidden
// commands and flags are left out, and so are urfave/cli's help command
// and flag, which every command has (the page says so once). The output
// depends only on the definitions: no date, no version.
func writeManPage(w io.Writer, app *cli.App) error {
	var b strings.Builder
	name := app.Name
	fmt.Fprintf(&b, ".TH %s 1 \"\" \"%s\" \"User Commands\"\n", strings.ToUpper(name), name)
	b.WriteString(".nh\n.ad l\n")
	b.WriteString(".SH NAME\n")
	fmt.Fprintf(&b, "%s \\- %s\n", roffEscape(name), roffEscape(app.Usage))

	b.WriteString(".SH SYNOPSIS\n")
	fmt.Fprintf(&b, "\\fB%s\\fR [\\fIglobal options\\fR] \\fIcommand\\fR [\\fIsubcommand\\fR] [\\fIoptions\\fR] [\\fIarguments\\fR ...]\n", roffEscape(name))

	if app.Description != "" {
		b.WriteString(".SH DESCRIPTION\n")
		b.WriteString(roffParagraphs(app.Description))
	}

	b.WriteString(".SH GLOBAL OPTIONS\n")
	b.WriteString("Global options may also follow the command, unless it has an option of the same name.\n")
	globals := append(visibleFlags(app.Flags), cli.HelpFlag)
	if !app.HideVersion && app.Version != "" {
		globals = append(globals, cli.VersionFlag)
	}
	writeManFlags(&b, globals)

	b.WriteString(".SH COMMANDS\n")
	fmt.Fprintf(&b, "Every command also takes \\fB\\-h\\fR, \\fB\\-\\-help\\fR; \\fB%s help\\fR \\fIcommand\\fR prints the same help.\n", roffEscape(name))
	for _, cmd := range visibleCommands(app.Commands) {
		writeManCommand(&b, name, nil, cmd)
	}

	writeManTrailer(&b, app)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeManCommand writes the subsection of cmd (reached through parents)
// and then those of its visible subcommands.
func writeManCommand(b *strings.Builder, prog string, parents []string, cmd *cli.Command) {
	path := append(append([]string(nil), parents...), cmd.Name)
	full := strings.Join(path, " ")
	fmt.Fprintf(b, ".SS \"%s\"\n", roffEscape(full))

	flags := visibleFlags(cmd.Flags)
	subs := visibleCommands(cmd.Subcommands)
	line := `\fB` + roffEscape(prog+" "+full) + `\fR`
	if len(flags) > 0 {
		line += ` [\fIoptions\fR]`
	}
	switch {
	case cmd.ArgsUsage != "":
		line += " " + roffSynopsis(cmd.ArgsUsage)
	case len(subs) > 0:
		line += ` \fIsubcommand\fR`
	}
	b.WriteString(roffGuard(line) + "\n")
	if cmd.Usage != "" {
		b.WriteString(".PP\n" + roffLine(cmd.Usage) + "\n")
	}
	if cmd.Description != "" {
		b.WriteString(".PP\n" + roffParagraphs(cmd.Description))
	}
	if len(subs) > 0 {
		names := make([]string, len(subs))
		for i, s := range subs {
			names[i] = `\fB` + roffEscape(s.Name) + `\fR`
		}
		b.WriteString(".PP\nSubcommands: " + strings.Join(names, ", ") + ".\n")
	}
	if len(flags) > 0 {
		b.WriteString(".PP\nOptions:\n")
		writeManFlags(b, flags)
	}
	for _, sub := range subs {
		writeManCommand(b, prog, path, sub)
	}
}

// writeManFlags writes one tagged paragraph per flag: its names and
// placeholder, its usage, its default and the environment variables it
// reads. A default is shown when the flag takes a value, the default is
// not the type's zero value (which means "not given" for every flag of
// mlsbackup) and the usage does not already name the default.
func writeManFlags(b *strings.Builder, flags []cli.Flag) {
	for _, f := range flags {
		usage, takesValue, def, envs := "", false, "", []string(nil)
		if d, ok := f.(cli.DocGenerationFlag); ok {
			usage, takesValue, def, envs = d.GetUsage(), d.TakesValue(), d.GetDefaultText(), d.GetEnvVars()
		}
		text, placeholder := roffUsage(usage)
		var names []string
		for _, n := range f.Names() {
			dash := "--"
			if len(n) == 1 {
				dash = "-"
			}
			names = append(names, `\fB`+roffEscape(dash+n)+`\fR`)
		}
		tag := strings.Join(names, ", ")
		if takesValue {
			if placeholder == "" {
				placeholder = "value"
			}
			tag += ` \fI` + roffEscape(placeholder) + `\fR`
		}
		switch def {
		case "", "0", "0s", "false":
		default:
			if takesValue && !strings.Contains(strings.ToLower(usage), "default") {
				text += " (default: " + roffEscape(def) + ")"
			}
		}
		if len(envs) > 0 {
			vars := make([]string, len(envs))
			for i, e := range envs {
				vars[i] = `\fB` + roffEscape(e) + `\fR`
			}
			text += " (environment: " + strings.Join(vars, ", ") + ")"
		}
		b.WriteString(".TP\n" + roffGuard(tag) + "\n" + roffGuard(text) + "\n")
	}
}

// visibleFlags are the flags of a definition that the help shows, without
// urfave/cli's help and version flags (which its setup adds to the app and
// to some commands, depending on what ran).
func visibleFlags(flags []cli.Flag) []cli.Flag {
	var out []cli.Flag
	for _, f := range flags {
		if f == cli.HelpFlag || f == cli.VersionFlag {
			continue
		}
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		out = append(out, f)
	}
	return out
}

// visibleCommands are the commands that are not hidden, without
// urfave/cli's help command.
func visibleCommands(cmds []*cli.Command) []*cli.Command {
	var out []*cli.Command
	for _, c := range cmds {
		if c.Hidden || c.Name == "help" {
			continue
		}
		out = append(out, c)
	}
	return out
}
