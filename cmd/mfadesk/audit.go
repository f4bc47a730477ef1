package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
)

// parseSince reads --since: a Go duration back from now, or RFC 3339.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("--since %q: want a positive duration", s)
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want a duration such as 168h or an RFC 3339 time such as 2026-11-01T00:00:00Z", s)
}

func auditExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
	since := fs.String("since", "", "only events at or after: a duration back from now (168h) or RFC 3339")
	format := fs.String("format", "jsonl", "jsonl or csv")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	from, err := parseSince(*since, time.Now())
	if err != nil {
		return usageError("audit export: %v", err)
	}
	if *format != "jsonl" && *format != "csv" {
		return usageError("audit export: --format %q: want jsonl or csv", *format)
	}
	st, err := existingStoreFromEnv(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	if *format == "csv" {
		return exportCSV(ctx, st, from, stdout)
	}
	enc := json.NewEncoder(stdout)
	return st.Events(ctx, 0, from, func(e actions.Event) error { return enc.Encode(exportable(e)) })
}

// exported is an event as the export writes it (docs/reference.md): time in RFC 3339
// UTC and every field present.
type exported struct {
	Seq       int64               `json:"seq"`
	Time      string              `json:"time"`
	RequestID string              `json:"request_id"`
	Event     actions.EventKind   `json:"event"`
	Actor     string              `json:"actor"`
	Action    actions.Action      `json:"action"`
	Targets   []actions.TargetRef `json:"targets"`
	Target    *actions.TargetRef  `json:"target"`
	Method    string              `json:"method"`
	Outcome   string              `json:"outcome"`
	Detail    string              `json:"detail"`
	PrevHash  string              `json:"prev_hash"`
	Hash      string              `json:"hash"`
}

func exportable(e actions.Event) exported {
	return exported{Seq: e.Seq, Time: e.Time.UTC().Format(time.RFC3339Nano), RequestID: e.RequestID, Event: e.Kind,
		Actor: e.Actor, Action: e.Action, Targets: e.Targets, Target: e.Target, Method: e.Method, Outcome: e.Outcome,
		Detail: e.Detail, PrevHash: e.PrevHash, Hash: e.Hash}
}

var csvHeader = []string{"seq", "time", "request_id", "event", "actor", "action", "targets", "target", "method", "outcome", "detail", "prev_hash", "hash"}

// csvCell makes a cell safe to open in a spreadsheet: a cell that begins
// with a character a spreadsheet would read as a formula (=, +, -, @, tab
// or carriage return) gets a leading "'", and so does one that begins with
// "'" itself, so that the rule "drop one leading quote" gives back the
// original text exactly.
func csvCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '\'':
		return "'" + s
	}
	return s
}

// csvJSON is a list or object cell: JSON, which splits back unambiguously
// whatever the emails hold; "" for nothing.
func csvJSON(v any, empty bool) (string, error) {
	if empty {
		return "", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func exportCSV(ctx context.Context, st *storage.Store, from time.Time, stdout io.Writer) error {
	w := csv.NewWriter(stdout)
	if err := w.Write(csvHeader); err != nil {
		return err
	}
	err := st.Events(ctx, 0, from, func(e actions.Event) error {
		x := exportable(e)
		targets, err := csvJSON(x.Targets, len(x.Targets) == 0)
		if err != nil {
			return err
		}
		target, err := csvJSON(x.Target, x.Target == nil)
		if err != nil {
			return err
		}
		row := []string{strconv.FormatInt(x.Seq, 10), x.Time, x.RequestID, string(x.Event), x.Actor,
			string(x.Action), targets, target, x.Method, x.Outcome, x.Detail, x.PrevHash, x.Hash}
		for i := range row {
			row[i] = csvCell(row[i])
		}
		return w.Write(row)
	})
	w.Flush()
	if err != nil {
		return err
	}
	return w.Error()
}

func auditVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	head := fs.String("head", "", "a chain head (SHA-256) stated by a digest: it must still be in the chain")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	*head = strings.ToLower(strings.TrimSpace(*head))
	if *head != "" && (len(*head) != 64 || strings.Trim(*head, "0123456789abcdef") != "") {
		return usageError("audit verify: --head wants a 64-digit hex SHA-256")
	}
	st, err := existingStoreFromEnv(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := verifyAudit(ctx, st, *head, defaultSplit())
	if err != nil {
		return err
	}
	if len(res.problems) > 0 {
		for _, p := range res.problems {
			fmt.Fprintln(stdout, "broken: "+p)
		}
		return &exitError{code: 1, err: errSilent}
	}
	if *head != "" {
		fmt.Fprintf(stdout, "ok %d events; head %s is event %d\n", res.count, *head, res.statedSeq)
		return nil
	}
	fmt.Fprintf(stdout, "ok %d events\n", res.count)
	return nil
}
