package main

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// serveToExit runs `mfadesk serve` with e, expecting it to stop by itself,
// and returns its output and error.
func serveToExit(t *testing.T, e env) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	out, err := mainCommand(ctx, e, "serve").CombinedOutput()
	return string(out), err
}

// ownedBy reports whether lease owner names the process pid (the default
// owner is host-pid-random).
func ownedBy(owner string, pid int) bool { return strings.Contains(owner, fmt.Sprintf("-%d-", pid)) }

// TestSQLiteCrashRecovery: SQLite is one process. A second serve on the
// same database refuses to start and names the first; after the first is
// killed, a restarted serve takes its lease over at once and finishes the
// request, each target with one result.
func TestSQLiteCrashRecovery(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts processes")
	}
	const n = 24 // three waves of 8, each 2 s: time to start a second serve meanwhile
	db := storagetest.New(t, storage.DialectSQLite)
	slack := newFakeSlack(t)
	e := serveEnv(t, db, slack.URL).with("MFADESK_DRYRUN_DELAY", "2s")
	r := approvedRequest(t, db.Store, e["MFADESK_POLICY_FILE"], n)

	first := startServe(t, e)
	waitFirstResults(t, db.Store, r.ID)
	// The second serve is as a newer binary would be: one migration not yet
	// applied. It is refused before it touches the schema under the first.
	raw := storagetest.Raw(t, db)
	var last string
	if err := raw.QueryRowContext(t.Context(), `SELECT max(version) FROM schema_migrations`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(t.Context(), `DELETE FROM schema_migrations WHERE version = ?`, last); err != nil {
		t.Fatal(err)
	}
	out, err := serveToExit(t, e)
	if want := fmt.Sprintf("in use by another mfadesk serve (pid %d on ", first.cmd.Process.Pid); err == nil || !strings.Contains(out, want) {
		t.Errorf("a second serve: %v, output:\n%s\nwant a refusal containing %q", err, out, want)
	}
	var applied int
	if err := raw.QueryRowContext(t.Context(), `SELECT count(*) FROM schema_migrations WHERE version = ?`, last).Scan(&applied); err != nil || applied != 0 {
		t.Errorf("the refused serve migrated %s under the running one (%d, %v)", last, applied, err)
	}
	if _, err := raw.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, last); err != nil {
		t.Fatal(err)
	}
	if err := first.stop(t, syscall.SIGKILL); err == nil {
		t.Fatal("SIGKILL: exit status 0")
	}
	killed, done := results(t, db.Store, r.ID)
	if done == n || killed.LeaseOwner == "" {
		t.Fatalf("after SIGKILL: %d of %d done, lease %q; the test needs an interrupted request", done, n, killed.LeaseOwner)
	}

	restart := time.Now()
	second := startServe(t, e) // returns once it listens: started
	started := time.Now()
	waitFor(t, "the restarted process to take the request over", 30*time.Second, func() bool {
		cur, _ := results(t, db.Store, r.ID)
		return ownedBy(cur.LeaseOwner, second.cmd.Process.Pid) || cur.State.Terminal()
	})
	took := time.Since(started)
	t.Logf("SQLite: the restarted process took %s to start and resumed the request %s later",
		started.Sub(restart).Round(time.Millisecond), took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("resumed %s after the restarted process started, want at most 2s", took)
	}
	finishExactlyOnce(t, second, db.Store, r.ID, n)
}

// TestPostgresReplicaTakesOver: two replicas share PostgreSQL; the one
// running a request is killed, and the live one takes the request over
// within about 5 s (a 4 s lease renewed every second, a 1 s poll) and
// finishes it, each target with one result.
func TestPostgresReplicaTakesOver(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts processes")
	}
	const n = 12
	db := storagetest.New(t, storage.DialectPostgres)
	slack := newFakeSlack(t)
	e := serveEnv(t, db, slack.URL).with("MFADESK_DRYRUN_DELAY", "400ms")
	r := approvedRequest(t, db.Store, e["MFADESK_POLICY_FILE"], n)

	replicas := []*child{startServe(t, e), startServe(t, e)}
	waitFirstResults(t, db.Store, r.ID)
	cur, done := results(t, db.Store, r.ID)
	victim, live := replicas[0], replicas[1]
	if ownedBy(cur.LeaseOwner, live.cmd.Process.Pid) {
		victim, live = live, victim
	}
	if done == n || !ownedBy(cur.LeaseOwner, victim.cmd.Process.Pid) {
		t.Fatalf("%d of %d done, lease %q; the test needs a request one replica is running", done, n, cur.LeaseOwner)
	}
	kill := time.Now()
	if err := victim.stop(t, syscall.SIGKILL); err == nil {
		t.Fatal("SIGKILL: exit status 0")
	}
	waitFor(t, "the live replica to take the request over", 30*time.Second, func() bool {
		cur, _ := results(t, db.Store, r.ID)
		return ownedBy(cur.LeaseOwner, live.cmd.Process.Pid)
	})
	took := time.Since(kill)
	t.Logf("PostgreSQL: the live replica took over %s after the kill", took.Round(time.Millisecond))
	if took > 6*time.Second {
		t.Errorf("took over %s after the kill, want about 5s", took)
	}
	finishExactlyOnce(t, live, db.Store, r.ID, n)
}
