package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mlsbackup/mlsbackup/internal/agent"
)

func (a *app) groupCommand() *cli.Command {
	noMerge := func() cli.Flag {
		return &cli.BoolFlag{Name: "no-merge", Usage: "leave the commit pending instead of merging it at once"}
	}
	idem := func() cli.Flag {
		return &cli.StringFlag{Name: "idempotency-key", Usage: "a `KEY` of your choice: a retry with the same key returns the stored answer and changes nothing"}
	}
	sub := func(name, args, usage string, min, max int, run func(*cli.Context, *agent.Client) (any, error), flags ...cli.Flag) *cli.Command {
		return &cli.Command{
			Name:      name,
			ArgsUsage: args,
			Usage:     usage,
			Flags:     append(flags, &cli.BoolFlag{Name: "json", Usage: "print JSON (messages as base64, hashes in hex)"}),
			Action: func(c *cli.Context) error {
				if err := positional(c, min, max, args); err != nil {
					return err
				}
				if strings.HasPrefix(strings.TrimPrefix(args, "["), "ID") && c.Args().Present() {
					if _, err := groupArg(c); err != nil {
						return err // a bad id is a usage error, agent or not
					}
				}
				return a.withAgent(c, run)
			},
		}
	}
	return &cli.Command{
		Name:  "group",
		Usage: "drive MLS groups through the running agent (key packages, members, messages)",
		Description: "Each subcommand is a client of the agent's local API on <data_dir>/agent.sock\n" +
			"(start it with 'mlsbackup agent'). Group ids are hex. Messages travel as base64 of\n" +
			"the TLS-encoded MLSMessage (or @FILE holding it, or a command's saved output: the\n" +
			"line or JSON field named like the flag); the caller delivers them to the other\n" +
			"members. 'group keypackage > kp' feeds 'group add ID --key-package @kp'.\n" +
			"A commit is merged at once unless --no-merge. Every answer is also kept in the\n" +
			"agent's outbox until acknowledged ('mlsbackup outbox'); --idempotency-key makes a\n" +
			"retry return the stored answer instead of doing the work again. 'group export' and\n" +
			"'group import' carry a group's snapshot out of the agent and back in; an imported\n" +
			"member sends only after a commit of its own ('group update ID').",
		Subcommands: []*cli.Command{
			sub("keypackage", "[--credential basic|x509 [--cert-chain FILE --key FILE]]", "create a KeyPackage others can add this member with", 0, 0, groupKeyPackage,
				&cli.BoolFlag{Name: "last-resort", Usage: "keep the KeyPackage after a Welcome used it"},
				&cli.StringFlag{Name: "credential", Usage: "present a `basic|x509` credential (default: the configured mls.credential)"},
				&cli.StringFlag{Name: "cert-chain", Usage: "with --credential x509: the PEM certificate chain in `FILE`, own certificate first (default: mls.credential's)"},
				&cli.StringFlag{Name: "key", Usage: "with --cert-chain: the PEM private key of its first certificate in `FILE`"}, idem()),
			sub("create", "[ID]", "create a new group with this member as its only member (ID in hex, or --name, or random)", 0, 1, groupCreate,
				&cli.StringFlag{Name: "name", Usage: "use the UTF-8 bytes of `TEXT` as the group id"}, idem()),
			sub("add", "ID --key-package B64", "commit adding members; prints the commit and the Welcome", 1, 1, groupAdd,
				&cli.StringSliceFlag{Name: "key-package", Usage: "the new member's KeyPackage as `B64`, or @FILE holding it (group keypackage's output will do; repeatable)"},
				&cli.BoolFlag{Name: "no-ratchet-tree", Usage: "leave the ratchet tree out of the Welcome and print it beside (the new members need it: join --ratchet-tree)"},
				noMerge(), idem()),
			sub("remove", "ID --member IDENTITY | --leaf N", "commit removing members (snapshotted first when snapshot.before_remove)", 1, 1, groupRemove,
				&cli.StringSliceFlag{Name: "member", Usage: "the member's `IDENTITY` as 'group info' shows it, hex:… for one that is not printable text (repeatable)"},
				&cli.UintSliceFlag{Name: "leaf", Usage: "the member at leaf index `N` (repeatable; see 'group info')"},
				&cli.BoolFlag{Name: "all-leaves", Usage: "with --member: remove every leaf the identity holds (a stale one beside a re-joined one)"},
				noMerge(), idem()),
			sub("update", "ID", "commit a self-update with a fresh leaf key (a new epoch)", 1, 1, groupUpdate, noMerge(), idem()),
			sub("merge", "ID", "merge this member's pending commit (or --clear it)", 1, 1, groupMerge,
				&cli.BoolFlag{Name: "clear", Usage: "discard the pending commit instead"}),
			sub("send", "ID --data TEXT", "encrypt an application message; prints the PrivateMessage", 1, 1, groupSend,
				&cli.StringFlag{Name: "data", Usage: "the message `TEXT`"}, idem()),
			sub("receive", "--message B64", "process an incoming commit, proposal, application message or Welcome", 0, 0, groupReceive,
				&cli.StringFlag{Name: "message", Usage: "the MLSMessage as `B64`, or @FILE holding it (the output of send or of a commit will do)"},
				&cli.StringFlag{Name: "ratchet-tree", Usage: "for a Welcome without the ratchet tree: the tree as `B64`"}),
			sub("join", "--welcome B64 | --group-info B64 [--resync-leaf N] [--ratchet-tree B64]", "join a group from a Welcome, or by external commit", 0, 0, groupJoin,
				&cli.StringFlag{Name: "welcome", Usage: "the Welcome as `B64`"},
				&cli.StringFlag{Name: "group-info", Usage: "join by external commit from this GroupInfo `B64`"},
				&cli.StringFlag{Name: "ratchet-tree", Usage: "the ratchet tree as `B64`, for a Welcome or GroupInfo that leaves it out"},
				&cli.UintFlag{Name: "resync-leaf", Usage: "with --group-info: remove this member's old leaf `N` in the same commit (re-join after a restore, RFC 9750)"}, idem()),
			sub("group-info", "ID", "print a signed GroupInfo from which others can join by external commit", 1, 1, groupGroupInfo,
				&cli.BoolFlag{Name: "no-ratchet-tree", Aliases: []string{"no-tree"}, Usage: "leave the ratchet tree out and print it beside (the joiner needs it: join --ratchet-tree)"}),
			sub("info", "ID", "show a group's epoch, members and epoch authenticator", 1, 1, groupInfo),
			sub("inspect", "ID", "show what a snapshot of the group holds (members, epochs, sizes), never a secret", 1, 1, groupInspect),
			sub("exporter", "ID --label TEXT --length N", "derive an application secret from the current epoch (MLS-Exporter, RFC 9420 8.5)", 1, 1, groupExporter,
				&cli.StringFlag{Name: "label", Usage: "the exporter `LABEL`"},
				&cli.StringFlag{Name: "context", Usage: "the exporter context as `B64` (default empty)"},
				&cli.StringFlag{Name: "context-text", Usage: "the exporter context as `TEXT`"},
				&cli.IntFlag{Name: "length", Usage: fmt.Sprintf("the secret's length in bytes, `N` (1 to %d)", agent.MaxExporterLength)}),
			sub("export", "ID --out FILE [--recipient R... | --recipients-file FILE]", "write the group's snapshot, cut at its current epoch, to a new file (plaintext, or age-encrypted to recipients)", 1, 1, groupExport,
				&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "write the snapshot to `FILE` (mode 0600, never overwritten)"},
				&cli.StringSliceFlag{Name: "recipient", Aliases: []string{"r"}, Usage: "encrypt to this age or SSH public key `R` (repeatable)"},
				&cli.StringFlag{Name: "recipients-file", Usage: "encrypt to the recipients in `FILE` (one per line, as encryption.recipients_file)"}),
			sub("import", "FILE [--replace] [--identity FILE]", "store a snapshot file as its group's state; the member reads at once and sends after a commit of its own", 1, 1, groupImport,
				&cli.BoolFlag{Name: "replace", Usage: "replace the group if the agent holds it already (at whatever epoch: this may roll it back)"},
				&cli.StringFlag{Name: "identity", Usage: "age identity `FILE` that decrypts an age-encrypted snapshot file"}),
			sub("list", "", "list the groups this member is in", 0, 0, groupList),
		},
	}
}

// withAgent dials the agent of the configured data directory, runs one
// request and prints its answer (JSON with --json).
func (a *app) withAgent(c *cli.Context, run func(*cli.Context, *agent.Client) (any, error)) error {
	e, err := a.loadEnv(c)
	if err != nil {
		return err
	}
	cl, err := agent.Dial(e.cfg.SocketPath())
	if err != nil {
		return fmt.Errorf("%w (is 'mlsbackup agent' running for data directory %s?)", err, e.cfg.DataDir)
	}
	defer cl.Close()
	res, err := run(c, cl)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return writeJSON(a.st.out, res)
	}
	printPlain(a, res)
	return nil
}

// printPlain prints an API answer for a person: one "key: value" line per
// field, bytes as base64.
func printPlain(a *app, res any) {
	w := a.st.out
	switch r := res.(type) {
	case agent.KeyPackageResponse:
		fmt.Fprintf(w, "key_package: %s\n", b64(r.KeyPackage))
	case agent.CommitResponse:
		fmt.Fprintf(w, "group_id: %s\nepoch: %d\nmerged: %v\ncommit: %s\n", r.GroupID, r.Epoch, r.Merged, b64(r.Commit))
		if len(r.Welcome) > 0 {
			fmt.Fprintf(w, "welcome: %s\n", b64(r.Welcome))
		}
		if len(r.RatchetTree) > 0 {
			fmt.Fprintf(w, "ratchet_tree: %s\n", b64(r.RatchetTree))
		}
	case agent.SendResponse:
		fmt.Fprintf(w, "group_id: %s\nepoch: %d\nmessage: %s\n", r.GroupID, r.Epoch, b64(r.Message))
	case agent.ReceiveResponse:
		fmt.Fprintf(w, "group_id: %s\nkind: %s\nepoch: %d\nsender: %d %s\n", r.GroupID, r.Kind, r.Epoch, r.Sender, r.SenderIdentity)
		if r.Kind == "application" {
			fmt.Fprintf(w, "data: %s\n", r.Data)
		}
		if r.Commit != nil {
			for _, m := range r.Commit.Added {
				fmt.Fprintf(w, "added: %d %s\n", m.Index, m.Identity)
			}
			for _, m := range r.Commit.Removed {
				fmt.Fprintf(w, "removed: %d %s\n", m.Index, m.Identity)
			}
		}
	case agent.GroupInfoResponse:
		fmt.Fprintf(w, "group_info: %s\n", b64(r.GroupInfo))
		if len(r.RatchetTree) > 0 {
			fmt.Fprintf(w, "ratchet_tree: %s\n", b64(r.RatchetTree))
		}
	case agent.ExternalJoinResponse:
		printGroupInfo(w, r.Group)
		fmt.Fprintf(w, "commit: %s\n", b64(r.Commit))
	case agent.GroupInfo:
		printGroupInfo(w, r)
	case agent.OutboxList:
		printOutbox(w, r)
	case agent.InspectReport:
		printInspect(w, r)
	case agent.ExporterResponse:
		fmt.Fprintf(w, "group_id: %s\nepoch: %d\nsecret: %s\n", r.GroupID, r.Epoch, b64(r.Secret))
	case agent.AckResponse:
		fmt.Fprintf(w, "acknowledged: %d\n", r.Acked)
		for _, id := range r.Unknown {
			fmt.Fprintf(w, "not in the outbox: %s\n", id)
		}
	case agent.GroupList:
		if len(r.Groups) == 0 {
			fmt.Fprintln(w, "no groups")
		}
		for _, g := range r.Groups {
			fmt.Fprintf(w, "%s  epoch %d  %d members\n", g.GroupID, g.Epoch, g.Members)
		}
	case []agent.SnapshotResponse:
		for _, s := range r {
			fmt.Fprintf(w, "group %s: snapshot of epoch %d uploaded\n", s.GroupID, s.Epoch)
		}
	default:
		if !printTransfer(w, res) {
			_ = writeJSON(w, res)
		}
	}
}

func printGroupInfo(w interface{ Write([]byte) (int, error) }, g agent.GroupInfo) {
	fmt.Fprintf(w, "group_id: %s\nepoch: %d\ncipher_suite: %d\nepoch_authenticator: %s\nown_index: %d\n",
		g.GroupID, g.Epoch, g.CipherSuite, g.EpochAuthenticator, g.OwnIndex)
	if g.PendingCommit {
		fmt.Fprintln(w, "pending_commit: true")
	}
	if g.Restored {
		fmt.Fprintln(w, restoredNote)
	}
	var members []string
	for _, m := range g.Members {
		members = append(members, fmt.Sprintf("%d:%s", m.Index, m.Identity))
	}
	fmt.Fprintf(w, "members: %s\n", strings.Join(members, " "))
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// groupArg parses the positional group id (hex).
func groupArg(c *cli.Context) ([]byte, error) {
	s := c.Args().First()
	id, err := hex.DecodeString(s)
	if err != nil || len(id) == 0 {
		return nil, usagef("%q is not a hex group id", s)
	}
	return id, nil
}

// b64Flag decodes a required base64 flag (see [b64Value]).
func b64Flag(c *cli.Context, name string) ([]byte, error) {
	b, err := b64Value(name, c.String(name))
	if b == nil && err == nil {
		return nil, usagef("--%s is required (see '%s --help')", name, c.Command.HelpName)
	}
	return b, err
}

func groupKeyPackage(c *cli.Context, cl *agent.Client) (any, error) {
	req := agent.KeyPackageRequest{LastResort: c.Bool("last-resort"), Credential: c.String("credential"), IdempotencyKey: c.String("idempotency-key")}
	switch {
	case req.Credential != "" && req.Credential != agent.CredentialBasic && req.Credential != agent.CredentialX509:
		return nil, usagef("--credential %q: give basic or x509", req.Credential)
	case c.IsSet("cert-chain") != c.IsSet("key"):
		return nil, usagef("give --cert-chain and --key together")
	case c.IsSet("cert-chain") && req.Credential != agent.CredentialX509:
		return nil, usagef("--cert-chain and --key need --credential x509")
	case c.IsSet("cert-chain"):
		var err error
		if req.CertChain, err = os.ReadFile(c.String("cert-chain")); err != nil {
			return nil, fmt.Errorf("--cert-chain: %w", err)
		}
		if req.PrivateKey, err = os.ReadFile(c.String("key")); err != nil {
			return nil, fmt.Errorf("--key: %w", err)
		}
	}
	kp, err := cl.KeyPackage(c.Context, req)
	return agent.KeyPackageResponse{KeyPackage: kp}, err
}

func groupCreate(c *cli.Context, cl *agent.Client) (any, error) {
	req := agent.CreateRequest{Name: c.String("name"), IdempotencyKey: c.String("idempotency-key")}
	if c.Args().Present() {
		if req.Name != "" {
			return nil, usagef("give the group id as ID (hex) or --name, not both")
		}
		id, err := groupArg(c)
		if err != nil {
			return nil, err
		}
		req.GroupID = hex.EncodeToString(id)
	}
	return cl.Create(c.Context, req)
}

func groupAdd(c *cli.Context, cl *agent.Client) (any, error) {
	id, err := groupArg(c)
	if err != nil {
		return nil, err
	}
	var kps [][]byte
	for _, s := range c.StringSlice("key-package") {
		kp, err := b64Value("key-package", s)
		if err != nil {
			return nil, err
		}
		if kp != nil {
			kps = append(kps, kp)
		}
	}
	if len(kps) == 0 {
		return nil, usagef("--key-package is required (see 'mlsbackup group add --help')")
	}
	return cl.Add(c.Context, id, agent.AddRequest{KeyPackages: kps, NoMerge: c.Bool("no-merge"), NoRatchetTree: c.Bool("no-ratchet-tree"),
		IdempotencyKey: c.String("idempotency-key")})
}

func groupRemove(c *cli.Context, cl *agent.Client) (any, error) {
	id, err := groupArg(c)
	if err != nil {
		return nil, err
	}
	req := agent.RemoveRequest{Members: c.StringSlice("member"), AllLeaves: c.Bool("all-leaves"), NoMerge: c.Bool("no-merge"), IdempotencyKey: c.String("idempotency-key")}
	for _, l := range c.UintSlice("leaf") {
		if uint(uint32(l)) != l {
			return nil, usagef("--leaf %d is not a leaf index", l)
		}
		req.Leaves = append(req.Leaves, uint32(l))
	}
	if len(req.Members) == 0 && len(req.Leaves) == 0 {
		return nil, usagef("--member or --leaf is required (see 'mlsbackup group remove --help')")
	}
	return cl.Remove(c.Context, id, req)
}

func groupUpdate(c *cli.Context, cl *agent.Client) (any, error) {
	id, err := groupArg(c)
	if err != nil {
		return nil, err
	}
	return cl.Update(c.Context, id, agent.UpdateRequest{NoMerge: c.Bool("no-merge"), IdempotencyKey: c.String("idempotency-key")})
}

func groupMerge(c *cli.Context, cl *agent.Client) (any, error) {
	id, err := groupArg(c)
	if err != nil {
		return nil, err
	}
	if c.Bool("clear") {
		return cl.Clear(c.Context, id)
	}
	return cl.Merge(c.Context, id)
}

func groupSend(c *cli.Context, cl *agent.Client) (any, error) {
	id, err := groupArg(c)
	if err != nil {
		return nil, err
	}
	if !c.IsSet("data") {
		return nil, usagef("--data is required (see 'mlsbackup group send --help')")
	}
	return cl.Send(c.Context, id, agent.SendRequest{Text: c.String("data"), IdempotencyKey: c.String("idempotency-key")})
}

func groupReceive(c *cli.Context, cl *agent.Client) (any, error) {
	msg, err := b64Flag(c, "message")
	if err != nil {
		return nil, err
	}
	tree, err := optionalB64Flag(c, "ratchet-tree")
	if err != nil {
		return nil, err
	}
	return cl.Receive(c.Context, agent.ReceiveRequest{Message: msg, RatchetTree: tree})
}

// optionalB64Flag is b64Flag for a flag that may be left out (nil).
func optionalB64Flag(c *cli.Context, name string) ([]byte, error) {
	if !c.IsSet(name) {
		return nil, nil
	}
	return b64Flag(c, name)
}

func groupJoin(c *cli.Context, cl *agent.Client) (any, error) {
	tree, err := optionalB64Flag(c, "ratchet-tree")
	if err != nil {
		return nil, err
	}
	switch {
	case c.IsSet("welcome") && c.IsSet("group-info"):
		return nil, usagef("give --welcome or --group-info, not both")
	case c.IsSet("group-info"):
		gi, err := b64Flag(c, "group-info")
		if err != nil {
			return nil, err
		}
		req := agent.ExternalJoinRequest{GroupInfo: gi, RatchetTree: tree, IdempotencyKey: c.String("idempotency-key")}
		if c.IsSet("resync-leaf") {
			leaf := uint32(c.Uint("resync-leaf"))
			if uint(leaf) != c.Uint("resync-leaf") {
				return nil, usagef("--resync-leaf %d is not a leaf index", c.Uint("resync-leaf"))
			}
			req.ResyncLeaf = &leaf
		}
		return cl.JoinExternal(c.Context, req)
	case c.IsSet("resync-leaf"):
		return nil, usagef("--resync-leaf needs --group-info")
	default:
		w, err := b64Flag(c, "welcome")
		if err != nil {
			return nil, err
		}
		return cl.Join(c.Context, agent.JoinRequest{Welcome: w, RatchetTree: tree})
	}
}

func groupInfo(c *cli.Context, cl *agent.Client) (any, error) {
	id, err := groupArg(c)
	if err != nil {
		return nil, err
	}
	return cl.Info(c.Context, id)
}

func groupGroupInfo(c *cli.Context, cl *agent.Client) (any, error) {
	id, err := groupArg(c)
	if err != nil {
		return nil, err
	}
	return cl.GroupInfoAndTree(c.Context, id, !c.Bool("no-ratchet-tree"))
}

func groupList(c *cli.Context, cl *agent.Client) (any, error) {
	return cl.List(c.Context)
}

// snapshotNow asks the agent to snapshot one group, or every group.
func snapshotNow(ctx context.Context, cl *agent.Client, group []byte) ([]agent.SnapshotResponse, error) {
	var ids [][]byte
	if group != nil {
		ids = [][]byte{group}
	} else {
		list, err := cl.List(ctx)
		if err != nil {
			return nil, err
		}
		for _, g := range list.Groups {
			id, err := hex.DecodeString(g.GroupID)
			if err != nil {
				return nil, fmt.Errorf("agent listed a bad group id %q", g.GroupID)
			}
			ids = append(ids, id)
		}
	}
	var out []agent.SnapshotResponse
	for _, id := range ids {
		epoch, err := cl.Snapshot(ctx, id)
		if err != nil {
			return out, fmt.Errorf("snapshot group %x: %w", id, err)
		}
		out = append(out, agent.SnapshotResponse{GroupID: hex.EncodeToString(id), Epoch: epoch})
	}
	return out, nil
}
