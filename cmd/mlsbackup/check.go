package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mlsbackup/mlsbackup/internal/agent"
	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/internal/destcheck"
	"github.com/mlsbackup/mlsbackup/uploader"
)

func (a *app) checkCommand() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "check the destination as the agent would use it; exit 0 only when a backup would work",
		Description: "Resolves the destination's credentials, checks that the bucket (or directory)\n" +
			"exists, writes, reads back and deletes a probe object under the prefix\n" +
			"(<prefix>/check/<random>.probe, which nothing else reads), reads the prefix's\n" +
			"lease, compares the server's clock (HTTP Date) with this machine's, and names the\n" +
			"recipients and the signer (public key) the uploads would use. One line per check,\n" +
			"ok or FAIL with the cause: unreachable endpoint, refused credentials, missing\n" +
			"bucket, no permission, a prefix leased by another agent, clock skew. A directory\n" +
			"destination is created if missing, as the agent would. No secret is printed.\n" +
			"The agent runs the same check at start (see GET /healthz).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "client-name", Usage: "this agent's MLS client `NAME`, compared with the lease holder; overrides client_name from the configuration"},
			&cli.BoolFlag{Name: "take-over", Usage: "another agent's lease is no failure (the agent run with --take-over would replace it)"},
			&cli.DurationFlag{Name: "timeout", Value: time.Minute, Usage: "give up on the destination after `DURATION`"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: a.runCheck,
	}
}

func (a *app) runCheck(c *cli.Context) error {
	if err := positional(c, 0, 0, "[--client-name NAME] [--take-over] [--json]"); err != nil {
		return err
	}
	e, err := a.loadAgentEnv(c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
	defer cancel()
	rep := checkDestination(ctx, e, c.Bool("take-over"))
	addKeys(&rep, e.cfg)
	if c.Bool("json") {
		if err := writeJSON(a.st.out, rep); err != nil {
			return err
		}
	} else {
		printCheck(a.st.out, rep)
	}
	if f, failed := rep.Failure(); failed {
		return fmt.Errorf("a backup would not work: the %s check failed (%s)", f.Check, f.Cause)
	}
	return nil
}

// checkDestination opens the destination as the agent does and checks it.
func checkDestination(ctx context.Context, e *env, takeOver bool) destcheck.Report {
	store, err := openStore(ctx, e.cfg, true)
	if err != nil {
		// Only a bad endpoint or region reaches here: nothing was sent.
		var rep destcheck.Report
		rep.Destination = e.cfg.Destination.Type
		rep.Checks = []destcheck.Result{{Check: destcheck.CheckCredentials, Status: destcheck.StatusFail, Cause: destcheck.CauseConfig, Detail: err.Error()}}
		return rep
	}
	return destcheck.Destination(ctx, destcheck.Options{
		Store:    store,
		Prefix:   e.cfg.Destination.Prefix,
		AgentID:  e.cfg.ClientName,
		TakeOver: takeOver,
		Logger:   e.log,
	})
}

// addKeys adds the recipients (as configured: public) and the signer
// the uploads would use.
func addKeys(rep *destcheck.Report, cfg *config.Config) {
	names, rerr := recipientNames(cfg)
	key, serr := agent.LoadSigningKey(cfg, os.LookupEnv)
	var signer uploader.Signer
	switch {
	case serr != nil:
	case key != nil:
		signer = key.Public()
	case !cfg.Encryption.AllowUnsigned:
		serr = agent.ErrNoSigningKey
	}
	rep.AddKeys(names, rerr, signer, serr)
}

// recipientNames names the recipients of cfg: those of
// encryption.recipients as written, then those of the recipients file.
func recipientNames(cfg *config.Config) ([]string, error) {
	rs, err := agent.Recipients(cfg)
	if err != nil {
		return nil, err
	}
	names := slices.Clone(cfg.Encryption.Recipients)
	for _, r := range rs[len(names):] {
		if s, ok := r.(fmt.Stringer); ok {
			names = append(names, s.String())
		} else {
			names = append(names, "an SSH key from "+cfg.Encryption.RecipientsFile)
		}
	}
	return names, nil
}

// printCheck prints one line per check.
func printCheck(w io.Writer, rep destcheck.Report) {
	fmt.Fprintf(w, "destination: %s\n", rep.Destination)
	for _, r := range rep.Checks {
		status := string(r.Status)
		detail := r.Detail
		if r.Failed() {
			status = "FAIL"
			detail = string(r.Cause) + ": " + detail
		}
		fmt.Fprintf(w, "%-7s %-11s %s\n", status, r.Check, detail)
	}
	if rep.OK {
		fmt.Fprintln(w, "a backup would work")
	}
}
