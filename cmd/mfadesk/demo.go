package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/cmd/mfadesk/internal/demo"
	"github.com/mfadesk/mfadesk/storage"
)

// serveHooks let `mfadesk demo` run serve's code with its stand-ins; the
// zero value is plain `mfadesk serve`.
type serveHooks struct {
	// listener is used instead of listening on MFADESK_HTTP_ADDR.
	listener net.Listener
	// directory is used instead of the one MFADESK_DIRECTORY names.
	directory actions.Directory
	// routes adds handlers beside the bot's, given the open store.
	routes func(mux *http.ServeMux, st *storage.Store)
}

func (h serveHooks) newDirectory(ctx context.Context, c config, getenv func(string) string, pol *actions.Policy, log *slog.Logger) (actions.Directory, error) {
	if h.directory != nil {
		return h.directory, nil
	}
	return newDirectory(ctx, c, getenv, pol, log)
}

func (h serveHooks) addRoutes(mux *http.ServeMux, st *storage.Store) {
	if h.routes != nil {
		h.routes(mux, st)
	}
}

func (h serveHooks) listen(addr string) (net.Listener, error) {
	if h.listener != nil {
		return h.listener, nil
	}
	return net.Listen("tcp", addr)
}

// realServiceVars are the variables that point mfadesk at a real Slack,
// directory or sign-in provider: `mfadesk demo` refuses to start while any
// is set, so that it can never reach one.
var realServiceVars = []string{
	"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL",
	"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
	"AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST",
	"AZURE_USERNAME", "AZURE_PASSWORD",
	"OKTA_ORG_URL", "OKTA_API_TOKEN",
	"MFADESK_GOOGLE_CREDENTIALS", "MFADESK_GOOGLE_ADMIN", "MFADESK_GOOGLE_API_URL",
	"MFADESK_GRAPH_URL", "MFADESK_DIRECTORY",
	"MFADESK_OIDC_ISSUER", "MFADESK_OIDC_CLIENT_ID", "MFADESK_OIDC_CLIENT_SECRET", "MFADESK_PUBLIC_URL",
}

// demoDatabase refuses a MFADESK_DATABASE_URL the demo must not run on. The
// demo's executor, courier and digest would work any database they are
// given with its simulated directory and Slack: a real one would have its
// approved requests recorded as done, its notices as delivered and its
// digest as posted. So the demo keeps its data only in a new SQLite file.
func demoDatabase(databaseURL string) error {
	databaseURL = strings.TrimSpace(databaseURL)
	if databaseURL == "" {
		return nil
	}
	if !strings.HasPrefix(strings.ToLower(databaseURL), "sqlite:") {
		return errors.New("demo: refusing MFADESK_DATABASE_URL: the demo keeps its data only in a new SQLite file (sqlite:PATH), never in a server's database, which may be a real one")
	}
	path := strings.TrimPrefix(databaseURL[len("sqlite:"):], "//")
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("demo: refusing MFADESK_DATABASE_URL: %s exists already, and the demo would act on its requests; name a new file", path)
	}
	return nil // a bad path or form is named when the store opens
}

// demoPassThrough are the variables the demo takes from its environment;
// it sets every other one itself.
var demoPassThrough = []string{
	"MFADESK_DATABASE_URL", "MFADESK_LOG_LEVEL", "MFADESK_LOG_FORMAT", "MFADESK_BUSINESS_HOURS",
	"MFADESK_DIGEST_SCHEDULE", "MFADESK_EXECUTOR_LEASE", "MFADESK_SHUTDOWN_TIMEOUT",
}

// demoCmd runs `mfadesk demo`: the bot as `serve` runs it, with a Slack
// stand-in page, simulated people and directory, and a temporary database.
func demoCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "where the page listens (HOST:PORT)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	var set []string
	for _, k := range realServiceVars {
		if strings.TrimSpace(getenv(k)) != "" {
			set = append(set, k)
		}
	}
	if len(set) > 0 {
		return fmt.Errorf("demo: refusing to start while %s %s set: the demo never talks to a real Slack, directory or sign-in provider; unset %s (env -u %s …)",
			strings.Join(set, ", "), map[bool]string{true: "is", false: "are"}[len(set) == 1],
			map[bool]string{true: "it", false: "them"}[len(set) == 1], set[0])
	}
	if err := demoDatabase(getenv("MFADESK_DATABASE_URL")); err != nil {
		return err
	}
	tcp, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("demo: --addr: %w", err)
	}
	ln := &quietListener{Listener: tcp, conns: map[*quietConn]bool{}}
	stopConns := context.AfterFunc(ctx, ln.closeUnused)
	defer stopConns()
	base := "http://" + browserAddr(ln.Addr())
	tmp, err := os.MkdirTemp("", "mfadesk-demo-")
	if err != nil {
		ln.Close()
		return err
	}
	defer os.RemoveAll(tmp)
	policy := filepath.Join(tmp, "policy.yaml")
	if err := os.WriteFile(policy, demo.Policy(), 0o600); err != nil {
		ln.Close()
		return err
	}
	d := demo.New(base, nil)
	stopPage := context.AfterFunc(ctx, d.Close) // the pages' event streams end at shutdown
	defer stopPage()
	env := map[string]string{
		"MFADESK_DATABASE_URL":     "sqlite:" + filepath.Join(tmp, "demo.db"),
		"MFADESK_HTTP_ADDR":        ln.Addr().String(),
		"MFADESK_POLICY_FILE":      policy,
		"MFADESK_APPROVAL_CHANNEL": demo.ChannelApprovals,
		"MFADESK_AUDIT_CHANNEL":    demo.ChannelAudit,
		"MFADESK_SECURITY_CHANNEL": demo.ChannelSecurity,
		"MFADESK_LOG_LEVEL":        "warn",
		"MFADESK_LOG_FORMAT":       "text",
		"MFADESK_SHUTDOWN_TIMEOUT": "3s",
	}
	for k, v := range d.Env() {
		env[k] = v
	}
	idp, idpEnv, err := d.StartIdP(nil)
	if err != nil {
		ln.Close()
		return fmt.Errorf("demo: sign-in provider: %w", err)
	}
	defer idp.Close()
	for k, v := range idpEnv {
		env[k] = v
	}
	kept := ""
	for _, k := range demoPassThrough {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			env[k] = v
			if k == "MFADESK_DATABASE_URL" {
				kept = " (kept: MFADESK_DATABASE_URL is set)"
			}
		}
	}
	if kept == "" {
		kept = " (removed at exit)"
	}
	fmt.Fprintf(stdout, "mfadesk demo: open %s/ in a browser; Ctrl-C stops it.\n", base)
	fmt.Fprintf(stdout, "  database: MFADESK_DATABASE_URL=%s%s\n", env["MFADESK_DATABASE_URL"], kept)
	return runServer(ctx, func(k string) string { return env[k] }, stderr, serveHooks{
		listener:  ln,
		directory: d.Directory(),
		routes: func(mux *http.ServeMux, st *storage.Store) {
			d.Routes(mux)
			d.SetAudit(st)
		},
	})
}

// browserAddr is addr as a browser on this machine reaches it: a wildcard
// host becomes the loopback address.
func browserAddr(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// quietListener closes, at shutdown, the connections that never sent a
// byte: browsers and HTTP clients open spare connections ahead of need, and
// http.Server.Shutdown waits 5 seconds for each such new connection.
type quietListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[*quietConn]bool
}

type quietConn struct {
	net.Conn
	l    *quietListener
	used atomic.Bool
}

func (l *quietListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	qc := &quietConn{Conn: c, l: l}
	l.mu.Lock()
	l.conns[qc] = true
	l.mu.Unlock()
	return qc, nil
}

func (c *quietConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.used.Store(true)
	}
	return n, err
}

func (c *quietConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// closeUnused closes every connection that has not sent a byte yet.
func (l *quietListener) closeUnused() {
	l.mu.Lock()
	var unused []*quietConn
	for c := range l.conns {
		if !c.used.Load() {
			unused = append(unused, c)
		}
	}
	l.mu.Unlock()
	for _, c := range unused {
		_ = c.Close()
	}
}
