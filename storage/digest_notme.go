package storage

import (
	"encoding/json"

	"gorm.io/gorm"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/digest"
)

// digestNotMe counts the period's "This wasn't me" reports and the
// containment requests made in it, and lists the reports, latest first,
// each with the reported request's requester and its containment steps.
func digestNotMe(tx *gorm.DB, from, to int64, limit int, d *digest.Digest) error {
	var counts []struct{ Reports, Containments int }
	err := tx.Raw(`SELECT
			(SELECT COUNT(*) FROM audit_events WHERE event = ? AND "time" >= ? AND "time" < ?) AS reports,
			(SELECT COUNT(*) FROM requests WHERE contains_request <> '' AND created_at >= ? AND created_at < ?) AS containments`,
		string(actions.EventReportedNotMe), from, to, from, to).Scan(&counts).Error
	if err != nil {
		return err
	}
	if len(counts) > 0 {
		d.Reports, d.Containments = counts[0].Reports, counts[0].Containments
	}
	if d.Reports == 0 {
		return nil
	}
	var rows []struct {
		RequestID, Actor, Action, Requester string
		Target                              *string
		Time                                int64
		Total                               int
	}
	err = tx.Raw(`SELECT e.request_id, e.actor, e.action, e.target, e."time" AS time,
			(SELECT r.requester_slack_id FROM requests r WHERE r.id = e.request_id) AS requester, COUNT(*) OVER () AS total
		FROM audit_events e WHERE e.event = ? AND e."time" >= ? AND e."time" < ?
		ORDER BY e."time" DESC, e.seq DESC LIMIT ?`, string(actions.EventReportedNotMe), from, to, limit).Scan(&rows).Error
	if err != nil {
		return err
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.RequestID
	}
	var steps []struct {
		ID, Action, State, ContainsRequest, RequesterSlackID string
	}
	if err := tx.Raw(`SELECT id, action, state, contains_request, requester_slack_id FROM requests
		WHERE contains_request IN ? ORDER BY contains_request, created_at, contain_step, id`, ids).Scan(&steps).Error; err != nil {
		return err
	}
	for _, r := range rows {
		n := digest.NotMe{RequestID: r.RequestID, Action: actions.Action(r.Action), Requester: r.Requester,
			Reporter: r.Actor, At: fromMicros(r.Time)}
		if r.Target != nil {
			_ = json.Unmarshal([]byte(*r.Target), &n.Target) // a bad one shows as blank
		}
		for _, s := range steps {
			if s.ContainsRequest == r.RequestID && s.RequesterSlackID == r.Actor {
				n.Steps = append(n.Steps, digest.ContainStep{RequestID: s.ID, Action: actions.Action(s.Action), State: actions.State(s.State)})
			}
		}
		d.NotMe.Items = append(d.NotMe.Items, n)
		d.NotMe.Total = r.Total
	}
	return nil
}
