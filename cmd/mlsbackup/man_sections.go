package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mlsbackup/mlsbackup/internal/config"
)

// manSeeAlso are the reference pages in docs/ that the man page points to,
// with what each holds (a test keeps the list equal to docs/*.md).
var manSeeAlso = [][2]string{
	{"docs/commands.md", "every command and flag, with examples"},
	{"docs/configuration.md", "every configuration key, its default, and the S3, MinIO and AWS setups"},
	{"docs/runbook.md", "a full disk, a destination outage, restoring after a lost disk, re-joining"},
	{"docs/security.md", "the security model and threat model"},
	{"docs/rotation.md", "rotating keys and moving backups (copy, rekey)"},
	{"docs/remote-layout.md", "the objects in the destination"},
	{"docs/api.md", "the agent's local HTTP/JSON API"},
	{"docs/metrics.md", "the Prometheus metrics"},
	{"docs/engine.md", "the MLS engine"},
	{"docs/testing.md", "how mlsbackup is tested"},
}

// writeManTrailer writes the sections after COMMANDS: EXIT STATUS,
// ENVIRONMENT, FILES and SEE ALSO.
func writeManTrailer(b *strings.Builder, app *cli.App) {
	b.WriteString(".SH EXIT STATUS\n")
	fmt.Fprintf(b, ".TP\n.B %d\nsuccess (the agent also exits %d when SIGTERM or SIGINT stops it).\n", exitOK, exitOK)
	fmt.Fprintf(b, ".TP\n.B %d\n"+
		"the command ran and failed: an error, a failed check of \\fBverify\\fR, \\fBcheck\\fR or \\fBconfig check\\fR, a group that \\fBrestore \\-\\-all\\fR could not restore. "+
		"The message is on stderr; with \\fB\\-\\-json\\fR a command that printed nothing yet prints {\"error\": \\fImessage\\fR, \"code\": \\fIcode\\fR} on stdout.\n", exitFailure)
	fmt.Fprintf(b, ".TP\n.B %d\na usage error: an unknown command or flag, a missing or extra argument, a bad flag value.\n", exitUsage)

	b.WriteString(".SH ENVIRONMENT\n")
	for _, e := range flagEnvVars(app) {
		fmt.Fprintf(b, ".TP\n.B %s\nthe value of %s when the flag is not given.\n", roffEscape(e.name), e.flag)
	}
	fmt.Fprintf(b, ".TP\n.B %s\n", config.SigningKeyEnv)
	b.WriteString("the agent's Ed25519 signing key line (as \\fBkeygen\\fR writes it); it takes precedence over " +
		"encryption.signing_key_file for \\fBagent\\fR, \\fBcheck\\fR, \\fBconfig check\\fR, \\fBcopy\\fR (the target's key) and \\fBrekey\\fR, " +
		"and commands that read backups trust its signer.\n")
	b.WriteString(".TP\n.B AWS_ACCESS_KEY_ID\\fR, \\fBAWS_SECRET_ACCESS_KEY\\fR, \\fBAWS_SESSION_TOKEN\\fR, \\fBAWS_REGION\\fR, \\fBAWS_PROFILE\\fR, \\fBAWS_WEB_IDENTITY_TOKEN_FILE\\fR, \\fBAWS_ROLE_ARN\n" +
		"read by the AWS SDK's credential chain for an S3 destination without keys in the configuration (see docs/configuration.md).\n")
	b.WriteString(".TP\n.B TERM\n" +
		"\\fBdumb\\fR turns the progress bars on a terminal into plain lines.\n")
	b.WriteString(".PP\nValues in the configuration file may name environment variables: " +
		"\\fB$\\fR\\fIVAR\\fR, \\fB${\\fR\\fIVAR\\fR\\fB}\\fR, \\fB${\\fR\\fIVAR\\fR\\fB:\\-\\fR\\fIfallback\\fR\\fB}\\fR; " +
		"\\fB$$\\fR is a literal \\fB$\\fR; an unset variable without a fallback is an error.\n")

	b.WriteString(".SH FILES\n")
	b.WriteString(".TP\n.I ./mlsbackup\\-data\n" +
		"the data directory (data_dir, \\fB\\-\\-data\\-dir\\fR): the member's groups and keys, mode 0700, its files 0600. " +
		"It holds \\fBLOCK\\fR (locked while an agent or a command uses the directory), \\fBFORMAT\\fR, " +
		"\\fBwal/\\fR (the write-ahead log; \\fBmlsbackup wal\\fR inspects it), \\fBmls/\\fR (the groups' state and local snapshots) " +
		"and \\fBschedule\\-state.json\\fR. Never delete files in \\fBwal/\\fR or \\fBmls/\\fR.\n")
	b.WriteString(".TP\n.I <data_dir>/agent.sock\n" +
		"the agent's local API socket (agent.socket), mode 0600; the \\fBgroup\\fR, \\fBoutbox\\fR and \\fBsnapshot\\fR commands talk to the agent through it.\n")
	b.WriteString(".TP\n.I <data_dir>/bucket\n" +
		"the destination of type dir when destination.dir.path is empty (the default destination).\n")
	b.WriteString(".TP\n.I identity.txt\\fR, \\fIidentity.txt.signing\\-key\n" +
		"what \\fBkeygen \\-\\-out identity.txt\\fR writes: the age identity, which decrypts backups and stays off the agent's machine, " +
		"and the agent's signing key (encryption.signing_key_file).\n")
	b.WriteString(".PP\nThere is no default configuration file: without \\fB\\-\\-config\\fR or \\fBMLSBACKUP_CONFIG\\fR the built-in defaults apply.\n")

	b.WriteString(".SH SEE ALSO\n")
	b.WriteString(".BR age (1),\n.BR age\\-keygen (1)\n")
	for _, d := range manSeeAlso {
		fmt.Fprintf(b, ".TP\n.I %s\n%s\n", roffEscape(d[0]), roffEscape(d[1]))
	}
}

// manEnvVar is an environment variable that a flag reads.
type manEnvVar struct {
	name string
	flag string // the flag, as troff text
}

// flagEnvVars lists the environment variables of the visible flags of app
// and its commands, sorted by name, each with the first flag that reads it.
func flagEnvVars(app *cli.App) []manEnvVar {
	seen := map[string]bool{}
	var out []manEnvVar
	add := func(prefix string, flags []cli.Flag) {
		for _, f := range visibleFlags(flags) {
			d, ok := f.(cli.DocGenerationFlag)
			if !ok {
				continue
			}
			for _, e := range d.GetEnvVars() {
				if seen[e] {
					continue
				}
				seen[e] = true
				out = append(out, manEnvVar{name: e, flag: prefix + `\fB` + roffEscape("--"+f.Names()[0]) + `\fR`})
			}
		}
	}
	add("", app.Flags)
	var walk func(parents string, cmds []*cli.Command)
	walk = func(parents string, cmds []*cli.Command) {
		for _, c := range visibleCommands(cmds) {
			path := strings.TrimSpace(parents + " " + c.Name)
			add(`\fB`+roffEscape(path)+`\fR `, c.Flags)
			walk(path, c.Subcommands)
		}
	}
	walk("", app.Commands)
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}
