package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// interspersed moves the flags of the command that args name in front of
// its positional arguments, so that "group add ID --key-package B64" works
// as the help shows it: urfave/cli/v2 (like Go's flag package) stops
// parsing flags at the first positional argument. Everything after "--"
// stays positional. Shell-completion requests are left alone.
func interspersed(app *cli.App, args []string) []string {
	if len(args) < 2 || args[len(args)-1] == "--generate-bash-completion" {
		return args
	}
	out := []string{args[0]}
	i := skipFlags(app.Flags, args, 1, &out)
	cmds := app.Commands
	var leaf *cli.Command
	for i < len(args) {
		cmd := findCommand(cmds, args[i])
		if cmd == nil {
			break
		}
		out = append(out, args[i])
		leaf, cmds = cmd, cmd.Subcommands
		i = skipFlags(cmd.Flags, args, i+1, &out)
	}
	if leaf == nil || len(leaf.Subcommands) > 0 {
		return append(out, args[i:]...)
	}
	var flags, positional []string
	for i < len(args) {
		a := args[i]
		switch {
		case a == "--":
			positional = append(positional, args[i:]...)
			i = len(args)
		case len(a) > 1 && a[0] == '-':
			flags = append(flags, a)
			if takesValue(leaf.Flags, a) && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			i++
		default:
			positional = append(positional, a)
			i++
		}
	}
	return append(append(out, flags...), positional...)
}

// skipFlags copies the flags at args[i:] to out and returns the index of
// the first argument that is not a flag or a flag's value.
func skipFlags(defs []cli.Flag, args []string, i int, out *[]string) int {
	for i < len(args) && len(args[i]) > 1 && args[i][0] == '-' && args[i] != "--" {
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
