package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// interspersed moves the flags of the command that args name in front of
// its positional arguments, so that "group add ID --key-package B64" works
// as the help shows it: urfave/cli/v2 (like Go's flag package) stops
// parsing flags at the first positional argument. Global flags given after
// the command ("list -c x.yaml") move in front of it, where urfave/cli
// takes them, unless the command has a flag of the same name. Everything
// after "--" stays positional. Shell-completion requests are left alone.
func interspersed(app *cli.App, args []string) []string {
	if len(args) < 2 || args[len(args)-1] == "--generate-bash-completion" {
		return args
	}
	head := []string{args[0]}
	i := skipFlags(app.Flags, args, 1, &head, nil)
	var path []string
	cmds := app.Commands
	var leaf *cli.Command
	for i < len(args) {
		cmd := findCommand(cmds, args[i])
		if cmd == nil {
			break
		}
		path = append(path, args[i])
		leaf, cmds = cmd, cmd.Subcommands
		// A global flag ends the command's own leading flags; the loop
		// below moves it in front of the command.
		i = skipFlags(cmd.Flags, args, i+1, &path, func(a string) bool { return !defines(cmd.Flags, a) && defines(app.Flags, a) })
	}
	if leaf == nil {
		return append(append(head, path...), args[i:]...)
	}
	var globals, flags, positional, rest []string
	for i < len(args) {
		a := args[i]
		switch {
		case a == "--":
			positional = append(positional, args[i:]...)
			rest = append(rest, args[i:]...)
			i = len(args)
		case len(a) > 1 && a[0] == '-':
			defs, dst := leaf.Flags, &flags
			if !defines(leaf.Flags, a) && defines(app.Flags, a) {
				defs, dst = app.Flags, &globals
			}
			n := 1
			if takesValue(defs, a) && i+1 < len(args) {
				n = 2
			}
			*dst = append(*dst, args[i:i+n]...)
			if dst == &flags {
				rest = append(rest, args[i:i+n]...)
			}
			i += n
		default:
			positional = append(positional, a)
			rest = append(rest, a)
			i++
		}
	}
	out := append(append(head, globals...), path...)
	if len(leaf.Subcommands) > 0 {
		return append(out, rest...) // a subcommand parses its own flags
	}
	return append(append(out, flags...), positional...)
}

// defines reports whether arg ("--name", "-n" or "--name=value") names one
// of defs.
func defines(defs []cli.Flag, arg string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	for _, f := range defs {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// skipFlags copies the flags at args[i:] to out and returns the index of
// the first argument that is not a flag or a flag's value, or that stop
// (if not nil) picks.
func skipFlags(defs []cli.Flag, args []string, i int, out *[]string, stop func(string) bool) int {
	for i < len(args) && len(args[i]) > 1 && args[i][0] == '-' && args[i] != "--" && (stop == nil || !stop(args[i])) {
		*out = append(*out, args[i])
		if takesValue(defs, args[i]) && i+1 < len(args) {
			*out = append(*out, args[i+1])
			i++
		}
		i++
	}
	return i
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// takesValue reports whether arg ("--name" or "-n", without "=value") is
// a known flag that consumes the next argument.
func takesValue(defs []cli.Flag, arg string) bool {
	if strings.Contains(arg, "=") {
		return false
	}
	name := strings.TrimLeft(arg, "-")
	for _, f := range defs {
		for _, n := range f.Names() {
			if n == name {
				_, isBool := f.(*cli.BoolFlag)
				return !isBool
			}
		}
	}
	return false
}
