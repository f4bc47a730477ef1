package demo

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mfadesk/mfadesk/actions"
)

// The page's live audit log (/demo/audit): the events as the bot's store
// holds them, re-verified as the chain grows.

type auditRow struct {
	Seq     int64  `json:"seq"`
	Time    string `json:"time"`
	Request string `json:"request_id"`
	Event   string `json:"event"`
	Actor   string `json:"actor"`
	Action  string `json:"action"`
	Target  string `json:"target"`
	Outcome string `json:"outcome"`
	Detail  string `json:"detail"`
	Hash    string `json:"hash"`
}

// serveAudit answers the audit events after ?after= and whether the whole
// chain verifies.
func (d *Demo) serveAudit(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	log := d.audit
	d.mu.Unlock()
	if log == nil {
		http.Error(w, "the audit log is not open yet", http.StatusServiceUnavailable)
		return
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	var rows []auditRow
	var v actions.ChainVerifier
	err := log.Events(r.Context(), 0, time.Time{}, func(e actions.Event) error {
		if err := v.Next(e); err != nil {
			return err
		}
		if e.Seq > after {
			rows = append(rows, d.auditRow(e))
		}
		return nil
	})
	out := map[string]any{"events": rows, "count": v.Count(), "verified": err == nil}
	if err != nil {
		out["problem"] = err.Error()
	}
	writeJSON(w, out)
}

func (d *Demo) auditRow(e actions.Event) auditRow {
	name := func(id string) string {
		if p, ok := PersonByID(id); ok {
			return p.Name
		}
		return id
	}
	var targets []string
	for _, t := range e.Targets {
		targets = append(targets, name(t.SlackID))
	}
	if e.Target != nil {
		targets = append(targets, name(e.Target.SlackID))
	}
	return auditRow{Seq: e.Seq, Time: e.Time.Local().Format("15:04:05"), Request: e.RequestID, Event: string(e.Kind),
		Actor: name(e.Actor), Action: string(e.Action), Target: strings.Join(targets, ", "), Outcome: e.Outcome,
		Detail: e.Detail, Hash: e.Hash}
}
