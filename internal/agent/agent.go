package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/localstore"
	"github.com/mlsbackup/mlsbackup/schedule"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// DefaultDrainTimeout is how long [Agent.Run] waits, after its context ends,
// for requests and snapshots in flight before it cancels them.
const DefaultDrainTimeout = 30 * time.Second

// DefaultMaxLoadedGroups is the default of Options.MaxLoadedGroups.
const DefaultMaxLoadedGroups = 2048

// SnapshotFormat names the plaintext format of the agent's uploads in their
// manifests: an engine GroupSnapshot.
const SnapshotFormat = "mlsbackup-group-snapshot-v1"

// Options are the collaborators of an [Agent] that the configuration does not
// name. The zero value is usable.
type Options struct {
	// Store is the destination object store. Nil means the one the
	// configuration names (a local directory, or S3 through s3store).
	Store uploader.ObjectStore
	// Recipients encrypt the uploads. Nil means those of the
	// configuration's encryption section.
	Recipients []age.Recipient
	// SigningKey signs the uploads. Nil means the file
	// encryption.signing_key_file; without either the agent refuses to
	// open ([ErrNoSigningKey]) unless encryption.allow_unsigned is set.
	// The command line passes MLSBACKUP_SIGNING_KEY here.
	SigningKey *uploader.SigningKey
	// TakeOver lets the agent take the prefix's lease from another agent
	// (see uploader.Options.TakeOver).
	TakeOver bool
	// Clock drives the scheduler; nil means the system clock.
	Clock schedule.Clock
	// FS is the file system of the data directory; nil means the real one.
	FS fsx.FS
	// LogLevel, if set, is the level of logger; Reload sets it from the
	// new configuration's log.level.
	LogLevel *slog.LevelVar
	// DrainTimeout bounds the graceful part of shutdown; 0 means
	// DefaultDrainTimeout.
	DrainTimeout time.Duration
	// MaxLoadedGroups bounds the groups kept loaded in memory (about
	// 13 KB each for 10 members); beyond it idle groups are unloaded and
	// load again on next use. 0 means DefaultMaxLoadedGroups; <0 no bound.
	MaxLoadedGroups int
	// SyncApply is passed to localstore (tests that read files directly).
	SyncApply bool
	// LeaseBlock is the engine's generation lease (engine.Options); 0
	// means the engine's default. For tests.
	LeaseBlock uint32
}

// Agent runs the MLS groups of one data directory and backs them up.
// Its methods are safe for concurrent use.
type Agent struct {
	log     *slog.Logger
	opts    Options
	fs      fsx.FS
	dataDir string
	socket  string
	started time.Time

	store    *localstore.Store
	recovery *localstore.RecoveryReport
	client   *engine.Client
	basic    *engine.Client
	engOpts  engine.Options
	backup   *uploader.Backup
	groups   *groupTable
	metrics  *metrics
	uploads  *uploadTable
	saved    *savedTable
	outbox   *outbox
	recon    *reconciler
	heads    *headWriter
	bg       *bgGate

	// dest is the backup's object store; destHealth what its checks
	// found (see desthealth.go).
	dest       uploader.ObjectStore
	destHealth destHealth

	cfgMu sync.Mutex
	cfg   *config.Config

	sched *schedHolder

	// work counts operations in flight; closing refuses new ones.
	workMu  sync.RWMutex
	closing bool
	work    sync.WaitGroup

	ran       atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// Sentinel errors of the agent.
var (
	// ErrUnknownGroup means no group with that id is stored.
	ErrUnknownGroup = errors.New("agent: unknown group")
	// ErrUnknownMember means no member of the group has that identity.
	ErrUnknownMember = errors.New("agent: unknown member")
	// ErrSnapshotFailed means the snapshot required before a removal
	// could not be taken; the removal was not made.
	ErrSnapshotFailed = errors.New("agent: snapshot before removal failed")
	// ErrShuttingDown means the agent no longer takes work.
	ErrShuttingDown = errors.New("agent: shutting down")
	// ErrInvalidArgument means a request is incomplete or contradictory.
	ErrInvalidArgument = errors.New("agent: invalid argument")
	// ErrBadSnapshot means a snapshot given for import does not verify.
	ErrBadSnapshot = errors.New("agent: snapshot does not verify")
	// ErrNoIdentity means the configuration names no client identity.
	ErrNoIdentity = errors.New("agent: no MLS client name configured (set client_name: or pass --client-name)")
)

// Open opens the data directory of cfg and everything the agent needs.
// It does not serve yet: call [Agent.Run], or [Agent.Close] to give up.
func Open(ctx context.Context, cfg *config.Config, logger *slog.Logger, opts Options) (*Agent, error) {
	if cfg == nil {
		return nil, fmt.Errorf("open agent: %w: nil configuration", ErrInvalidArgument)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("open agent: %w", err)
	}
	if cfg.ClientName == "" {
		return nil, ErrNoIdentity
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.FS == nil {
		opts.FS = fsx.OS{}
	}
	if opts.MaxLoadedGroups == 0 {
		opts.MaxLoadedGroups = DefaultMaxLoadedGroups
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = DefaultDrainTimeout
	}
	if opts.LogLevel != nil {
		if l, ok := levelOf(cfg.Log.Level); ok {
			opts.LogLevel.Set(l)
		}
	}
	a := &Agent{
		log:     logger,
		opts:    opts,
		fs:      opts.FS,
		dataDir: cfg.DataDir,
		socket:  cfg.SocketPath(),
		started: time.Now(),
		cfg:     cfg,
		groups:  newGroupTable(opts.MaxLoadedGroups),
		uploads: newUploadTable(),
		saved:   newSavedTable(),
		bg:      newBGGate(snapshotConcurrency),
	}
	a.recon = &reconciler{a: a}
	a.heads = newHeadWriter(a)
	a.metrics = newMetrics(a)

	backup, err := a.openBackup(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.backup = backup

	st, rep, err := localstore.Open(ctx, opts.FS, cfg.DataDir, localstore.Options{
		EpochRetention: cfg.Store.RetainedEpochs(),
		SnapshotsKept:  cfg.Snapshot.LocalKeep,
		SyncApply:      opts.SyncApply,
		Logger:         logger,
	})
	if err != nil {
		return nil, fmt.Errorf("open data directory %s: %w", cfg.DataDir, err)
	}
	a.store, a.recovery = st, rep
	a.reportRecovery(ctx, rep)
	ob, err := openOutbox(ctx, st, cfg.Agent.OutboxKeep, logger)
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("open data directory %s: %w", cfg.DataDir, err)
	}
	a.outbox = ob
	a.metrics.reg.MustRegister(ob.m.collectors()...)
	ob.trim(ctx)

	// One suite registry for every group the agent loads: the groups share
	// each cipher suite's bounded caches (successful verifications).
	a.engOpts = engine.Options{RetainEpochs: cfg.Store.RetainedEpochs(), Suites: suite.NewRegistry(), Capabilities: cfg.MLS.Capabilities.Engine(),
		LeaseBlock: opts.LeaseBlock}
	if opts.Clock != nil {
		a.engOpts.Now = opts.Clock.Now
	}
	if a.engOpts.Authentication, err = authentication(cfg, a.engOpts); err == nil {
		a.client, a.basic, err = newClients(cfg, st, a.engOpts)
	}
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("open agent: %w", err)
	}

	sched, err := a.newScheduler(cfg)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	a.sched = &schedHolder{cur: sched}
	logger.Info("agent opened", "data_dir", cfg.DataDir, "client_name", cfg.ClientName, "credential", cfg.MLS.Credential.Type,
		"destination", backup.String(), "signer", backup.Signer().String(), "every_epochs", cfg.Snapshot.EveryEpochs, "cron", cfg.Snapshot.Cron)
	return a, nil
}

// reportRecovery logs what recovery did, counts it in the metrics and drops
// pending inputs (see the package doc).
func (a *Agent) reportRecovery(ctx context.Context, rep *localstore.RecoveryReport) {
	if rep == nil {
		return
	}
	a.metrics.recovery.WithLabelValues("replayed").Add(float64(len(rep.Replayed)))
	a.metrics.recovery.WithLabelValues("dropped").Add(float64(len(rep.Dropped)))
	a.metrics.recovery.WithLabelValues("pending_input").Add(float64(len(rep.PendingInputs)))
	for _, op := range rep.Replayed {
		a.log.Info("recovery: replayed committed operation", "op", op.Op, "group", fmt.Sprintf("%x", op.Group), "puts", op.Puts, "deletes", op.Deletes)
	}
	for _, op := range rep.Dropped {
		a.log.Info("recovery: dropped operation that never committed", "op", op.Op, "group", fmt.Sprintf("%x", op.Group))
	}
	if rep.TornTail != nil {
		a.metrics.recovery.WithLabelValues("torn_tail").Inc()
		a.log.Warn("recovery: truncated a torn write at the end of the log", "repair", fmt.Sprintf("%+v", *rep.TornTail))
	}
	for _, in := range rep.PendingInputs {
		a.log.Warn("recovery: dropping an input that was never processed; its sender must deliver it again", "kind", in.Kind, "id", in.ID, "bytes", len(in.Input))
		if err := a.store.DropPending(ctx, in.ID); err != nil {
			a.log.Error("recovery: drop pending input", "id", in.ID, "err", err)
		}
	}
	a.log.Info("recovery done", "replayed", len(rep.Replayed), "dropped", len(rep.Dropped),
		"pending_inputs", len(rep.PendingInputs), "torn_tail", rep.TornTail != nil)
}

// Config returns the configuration in effect.
func (a *Agent) Config() *config.Config {
	a.cfgMu.Lock()
	defer a.cfgMu.Unlock()
	return a.cfg
}

// SocketPath returns the unix socket the agent serves on.
func (a *Agent) SocketPath() string { return a.socket }

// Store returns the agent's local store (for tests and diagnostics).
func (a *Agent) Store() *localstore.Store { return a.store }

// Recovery returns what recovery did when the agent opened.
func (a *Agent) Recovery() *localstore.RecoveryReport { return a.recovery }

// Backup returns the backup set the agent uploads to.
func (a *Agent) Backup() *uploader.Backup { return a.backup }

// begin registers an operation in flight, or fails once shutdown began.
func (a *Agent) begin() (func(), error) {
	a.workMu.RLock()
	defer a.workMu.RUnlock()
	if a.closing {
		return nil, ErrShuttingDown
	}
	a.bg.foreground()
	a.work.Add(1)
	return a.work.Done, nil
}

// stopWork refuses new operations and waits for those in flight, up to ctx.
func (a *Agent) stopWork(ctx context.Context) error {
	a.workMu.Lock()
	a.closing = true
	a.workMu.Unlock()
	done := make(chan struct{})
	go func() { a.work.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close releases the data directory without serving. After [Agent.Run]
// it does nothing more. It waits for operations in flight.
func (a *Agent) Close() error {
	a.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), a.opts.DrainTimeout)
		defer cancel()
		if err := a.stopWork(ctx); err != nil {
			a.log.Warn("close: operations still in flight", "err", err)
		}
		a.sched.stopAll(a.opts.DrainTimeout)
		a.heads.flush("close")
		err := a.store.Close()
		switch {
		case errors.Is(err, localstore.ErrNotCheckpointed):
			// Not data loss: every acknowledged transition is durable in
			// the write-ahead log.
			a.log.Warn("close: the final checkpoint failed (is the disk full?); nothing acknowledged is lost, the next start replays the write-ahead log", "err", err)
		case err != nil:
			a.closeErr = fmt.Errorf("close store: %w", err)
		}
	})
	return a.closeErr
}

// stateFile is where the scheduler keeps its last complete cron pass.
func (a *Agent) stateFile() string { return filepath.Join(a.dataDir, "schedule-state.json") }

// levelOf maps a log level name to a slog level.
func levelOf(name string) (slog.Level, bool) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(name)); err != nil {
		return slog.LevelInfo, false
	}
	return l, true
}
