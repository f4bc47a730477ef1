package storagetest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Cluster is a PostgreSQL server of a test's own, in a temporary directory,
// that the test may stop and start (a database outage) without touching the
// PostgreSQL that other tests share. It is stopped and removed when the
// test ends, whatever the outcome.
type Cluster struct {
	// URL is the MFADESK_DATABASE_URL of the cluster's database.
	URL string

	bin  string // directory of initdb, pg_ctl and postgres
	dir  string // holds data/, the log and the socket
	port int
	as   []string // command prefix that runs as the postgres user, when root
}

// NewCluster initialises and starts a private PostgreSQL cluster on a free
// port. It needs the PostgreSQL server binaries (initdb, pg_ctl): found on
// PATH or under /usr/lib/postgresql/*/bin. Without them it skips t, saying
// why, unless CI is set, where it fails t. When the test runs as root (as
// in CI) the server runs as the postgres OS user.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	bin, err := serverBinaries()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("private PostgreSQL cluster: %v", err)
		}
		t.Skipf("private PostgreSQL cluster: %v; install the PostgreSQL server to run this test", err)
	}
	dir, err := os.MkdirTemp("", "mfadesk-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{bin: bin, dir: dir, port: freePort(t)}
	t.Cleanup(func() {
		// Whatever happened: stop it (immediately; nothing in it matters)
		// and remove it.
		_ = c.run(context.Background(), "pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop")
		_ = os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("private PostgreSQL cluster: running as root and %v; PostgreSQL refuses to run as root", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		c.as = []string{"runuser", "-u", "postgres", "--"}
		if _, err := exec.LookPath("runuser"); err != nil {
			c.as = []string{"setpriv", "--reuid=" + u.Uid, "--regid=" + u.Gid, "--clear-groups"}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.run(ctx, "initdb", "-D", c.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		t.Fatalf("private PostgreSQL cluster: %v", err)
	}
	c.Start(t)
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
	return c
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// Start starts the cluster and waits until it accepts connections.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off", c.port, c.dir)
	if err := c.run(ctx, "pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "log"), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		t.Fatalf("start private PostgreSQL: %v\n%s", err, log)
	}
}

// Stop shuts the cluster down as a restart for an upgrade does (fast:
// connections are ended with SQLSTATE 57P01) and waits until it is down.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.run(ctx, "pg_ctl", "-D", c.data(), "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		t.Fatalf("stop private PostgreSQL: %v", err)
	}
}

// Query runs one statement as the superuser and returns its first column,
// for tests that look at the server (pg_stat_activity, say).
func (c *Cluster) Query(t testing.TB, q string, args ...any) string {
	t.Helper()
	db, err := sql.Open("pgx", c.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out sql.NullString
	if err := db.QueryRowContext(t.Context(), q, args...).Scan(&out); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out.String
}

func (c *Cluster) run(ctx context.Context, name string, args ...string) error {
	argv := append(append(append([]string{}, c.as...), filepath.Join(c.bin, name)), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = c.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// serverBinaries finds the directory of initdb and pg_ctl: on PATH, else
// the newest /usr/lib/postgresql/*/bin (Debian and Ubuntu).
func serverBinaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin")
}

func versionOf(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

// freePort returns a TCP port nothing listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
