package agent

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// maxGroupID bounds group ids the API accepts (localstore's limit).
const maxGroupID = 120

// Run serves the API on the unix socket (and the TCP listener, if
// configured) and runs the scheduler until ctx ends. Then it shuts down
// gracefully: it stops taking requests, lets requests and snapshots in
// flight finish for up to Options.DrainTimeout, cancels the rest (an
// interrupted upload leaves nothing visible), closes the data directory
// and returns nil. It returns an error only if it cannot start serving.
func (a *Agent) Run(ctx context.Context) error {
	if !a.ran.CompareAndSwap(false, true) {
		return errors.New("agent: Run called twice")
	}
	cfg := a.Config()
	uln, err := a.listenUnix()
	if err != nil {
		_ = a.Close()
		return err
	}
	servers := []*http.Server{a.newServer(a.Handler())}
	listeners := []net.Listener{uln}
	if cfg.Agent.TCPListen != "" {
		token, err := readToken(cfg.Agent.TokenFile)
		if err != nil {
			_ = uln.Close()
			_ = a.Close()
			return err
		}
		tln, err := net.Listen("tcp", cfg.Agent.TCPListen)
		if err != nil {
			_ = uln.Close()
			_ = a.Close()
			return fmt.Errorf("listen on agent.tcp_listen %s: %w", cfg.Agent.TCPListen, err)
		}
		servers = append(servers, a.newServer(bearer(token, a.Handler())))
		listeners = append(listeners, tln)
		a.log.Info("serving the API on TCP (bearer token required)", "addr", tln.Addr().String())
	}
	if cfg.Agent.MetricsListen != "" {
		mln, err := net.Listen("tcp", cfg.Agent.MetricsListen)
		if err != nil {
			for _, l := range listeners {
				_ = l.Close()
			}
			_ = a.Close()
			return fmt.Errorf("listen on agent.metrics_listen %s: %w", cfg.Agent.MetricsListen, err)
		}
		servers = append(servers, a.newServer(a.metricsHandler()))
		listeners = append(listeners, mln)
		a.log.Info("serving metrics and health without a token", "addr", mln.Addr().String())
	}
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	defer stopSweep()
	go a.seedChain(sweepCtx)
	go a.watchDestination(sweepCtx)
	a.sched.start()
	go a.outbox.sweep(sweepCtx)
	go a.heads.run(sweepCtx)
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() {
			if err := srv.Serve(listeners[i]); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	a.log.Info("agent serving", "socket", a.socket)
	select {
	case <-ctx.Done():
		a.log.Info("shutting down: no new requests; finishing work in flight", "drain_timeout", a.opts.DrainTimeout)
	case err := <-errc:
		a.log.Error("API server failed; shutting down", "err", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), a.opts.DrainTimeout)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(sctx); err != nil {
			a.log.Warn("requests still in flight after the drain timeout; closing them", "err", err)
			_ = srv.Close()
		}
	}
	err = a.Close()
	if rerr := os.Remove(a.socket); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		a.log.Warn("remove socket", "err", rerr)
	}
	a.log.Info("agent stopped")
	return err
}

func (a *Agent) newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          nil,
	}
}

// readToken reads the bearer token of the TCP listener.
func readToken(path string) ([]byte, error) {
	if path == "" {
		return nil, errors.New("agent.token_file: required with agent.tcp_listen")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("agent.token_file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < 16 {
		return nil, errors.New("agent.token_file: the token must be at least 16 characters")
	}
	return []byte(tok), nil
}

// bearer requires "Authorization: Bearer <token>", compared in constant
// time.
func bearer(token []byte, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), token) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mlsbackup"`)
			writeJSON(w, http.StatusUnauthorized, ErrorResponse{Error: "missing or wrong bearer token", Code: "unauthorized"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Status describes the agent.
func (a *Agent) Status(ctx context.Context) (Status, error) {
	done, err := a.begin()
	if err != nil {
		return Status{}, err
	}
	defer done()
	ids, err := a.storedGroups(ctx)
	if err != nil {
		return Status{}, err
	}
	cfg := a.Config()
	st := Status{
		Identity:      cfg.ClientName,
		DataDir:       a.dataDir,
		Socket:        a.socket,
		Destination:   a.backup.String(),
		Started:       a.started.UTC().Format(time.RFC3339),
		UptimeSeconds: time.Since(a.started).Seconds(),
		Groups:        len(ids),
		GroupsLoaded:  a.groups.loaded(),
		Uploaded:      a.uploads.len(),
		EveryEpochs:   cfg.Snapshot.EveryEpochs,
		Cron:          cfg.Snapshot.Cron,
		BeforeRemove:  cfg.Snapshot.BeforeRemove,
	}
	if r := a.recovery; r != nil {
		st.Recovery = RecoveryStatus{Replayed: len(r.Replayed), Dropped: len(r.Dropped), PendingInputs: len(r.PendingInputs), TornTail: r.TornTail != nil}
	}
	return st, nil
}
