package storage

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mfadesk/mfadesk/actions"
)

// The row types mirror migrations/0001_init.sql. They are gorm's view of the
// tables and never leave the package. Field names avoid CreatedAt and
// UpdatedAt on purpose: gorm fills fields of those names by itself.

type requestRow struct {
	ID               string         `gorm:"column:id;primaryKey"`
	RequesterSlackID string         `gorm:"column:requester_slack_id"`
	RequesterEmail   string         `gorm:"column:requester_email"`
	RequesterDirID   string         `gorm:"column:requester_directory_id"`
	Action           string         `gorm:"column:action"`
	Reason           string         `gorm:"column:reason"`
	Ticket           string         `gorm:"column:ticket"`
	State            string         `gorm:"column:state"`
	CreatedUS        int64          `gorm:"column:created_at"`
	ExpiresUS        int64          `gorm:"column:expires_at"`
	UpdatedUS        int64          `gorm:"column:updated_at"`
	ApprovalsNeeded  int            `gorm:"column:approvals_needed"`
	DecidedBySlackID string         `gorm:"column:decided_by_slack_id"`
	DecidedByEmail   string         `gorm:"column:decided_by_email"`
	DecisionNote     string         `gorm:"column:decision_note"`
	Manual           bool           `gorm:"column:manual"`
	Message          string         `gorm:"column:message"`
	SubmissionKey    sql.NullString `gorm:"column:submission_key"`
	LeaseOwner       string         `gorm:"column:lease_owner"`
	LeaseUntilUS     sql.NullInt64  `gorm:"column:lease_until"`
	Version          int64          `gorm:"column:version"`
	NotifyTarget     bool           `gorm:"column:notify_target"`
	NotifyManager    bool           `gorm:"column:notify_manager"`
	ContainsRequest  string         `gorm:"column:contains_request"`
	ContainStep      int            `gorm:"column:contain_step"`
	ContainSteps     int            `gorm:"column:contain_steps"`
	AfterRequest     string         `gorm:"column:after_request"`
	Verify           string         `gorm:"column:verify"`
}

func (requestRow) TableName() string { return "requests" }

type targetRow struct {
	RequestID   string         `gorm:"column:request_id;primaryKey"`
	Idx         int            `gorm:"column:idx;primaryKey;autoIncrement:false"`
	SlackID     string         `gorm:"column:slack_id"`
	Email       string         `gorm:"column:email"`
	DirectoryID string         `gorm:"column:directory_id"`
	Privileged  bool           `gorm:"column:privileged"`
	Outcome     sql.NullString `gorm:"column:outcome"`
	Detail      string         `gorm:"column:detail"`
	ResultUS    sql.NullInt64  `gorm:"column:result_at"`
}

func (targetRow) TableName() string { return "request_targets" }

type approvalRow struct {
	RequestID       string `gorm:"column:request_id;primaryKey"`
	Idx             int    `gorm:"column:idx;primaryKey;autoIncrement:false"`
	ApproverSlackID string `gorm:"column:approver_slack_id"`
	ApproverEmail   string `gorm:"column:approver_email"`
	ApproverDirID   string `gorm:"column:approver_directory_id"`
	AtUS            int64  `gorm:"column:at"`
}

func (approvalRow) TableName() string { return "approvals" }

type noticeRow struct {
	RequestID    string `gorm:"column:request_id;primaryKey"`
	Idx          int    `gorm:"column:idx;primaryKey;autoIncrement:false"`
	To           string `gorm:"column:recipient_to"`
	TargetIdx    int    `gorm:"column:target_idx"`
	State        string `gorm:"column:state"`
	AfterRequest string `gorm:"column:after_request"`
	Recipient    string `gorm:"column:recipient"`
	Detail       string `gorm:"column:detail"`
	Ref          string `gorm:"column:ref"`
	Attempts     int    `gorm:"column:attempts"`
	NotBeforeUS  int64  `gorm:"column:not_before"`
	Owner        string `gorm:"column:owner"`
	UntilUS      int64  `gorm:"column:claim_until"`
	CreatedUS    int64  `gorm:"column:created_at"`
	UpdatedUS    int64  `gorm:"column:updated_at"`
}

func (noticeRow) TableName() string { return "notices" }

// zeroMicros stores the zero time as 0.
func zeroMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(t)
}

func fromZeroMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return fromMicros(us)
}

func newNoticeRow(id string, k int, n actions.Notice) noticeRow {
	return noticeRow{
		RequestID: id, Idx: k, To: string(n.To), TargetIdx: n.Target, State: string(n.State), AfterRequest: n.After,
		Recipient: clean(n.Recipient), Detail: clean(n.Detail), Ref: clean(n.Ref), Attempts: n.Attempts, NotBeforeUS: zeroMicros(n.NotBefore),
		Owner: n.Owner, UntilUS: zeroMicros(n.Until), CreatedUS: micros(n.CreatedAt), UpdatedUS: micros(n.UpdatedAt),
	}
}

func (row noticeRow) notice() actions.Notice {
	return actions.Notice{
		To: actions.NoticeTo(row.To), Target: row.TargetIdx, State: actions.NoticeState(row.State), After: row.AfterRequest,
		Recipient: row.Recipient, Detail: row.Detail, Ref: row.Ref, Attempts: row.Attempts,
		NotBefore: fromZeroMicros(row.NotBeforeUS), Owner: row.Owner, Until: fromZeroMicros(row.UntilUS),
		CreatedAt: fromMicros(row.CreatedUS), UpdatedAt: fromMicros(row.UpdatedUS),
	}
}

type eventRow struct {
	Seq       int64          `gorm:"column:seq;primaryKey;autoIncrement:false"`
	TimeUS    int64          `gorm:"column:time"`
	RequestID string         `gorm:"column:request_id"`
	Event     string         `gorm:"column:event"`
	Actor     string         `gorm:"column:actor"`
	Action    string         `gorm:"column:action"`
	Targets   sql.NullString `gorm:"column:targets"`
	Target    sql.NullString `gorm:"column:target"`
	Method    string         `gorm:"column:method"`
	Outcome   string         `gorm:"column:outcome"`
	Detail    string         `gorm:"column:detail"`
	PrevHash  string         `gorm:"column:prev_hash"`
	Hash      string         `gorm:"column:hash"`
}

func (eventRow) TableName() string { return "audit_events" }

type headRow struct {
	ID   int    `gorm:"column:id;primaryKey;autoIncrement:false"`
	Seq  int64  `gorm:"column:seq"`
	Hash string `gorm:"column:hash"`
}

func (headRow) TableName() string { return "audit_head" }

// micros is t as stored: microseconds since the Unix epoch. It rounds down,
// exactly as t.Truncate(time.Microsecond) does.
func micros(t time.Time) int64 { return t.UnixMicro() }

// ceilMicros is the first stored time at or after t: a stored time is
// before t exactly when it is less than ceilMicros(t), and at or after t
// when it is not.
func ceilMicros(t time.Time) int64 {
	us := micros(t)
	if fromMicros(us).Before(t) {
		us++
	}
	return us
}

// fromMicros is the UTC time of a stored value.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullMicros stores the zero time as NULL.
func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(t), Valid: true}
}

func fromNullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// normalTime is t as it reads back from the database.
func normalTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return fromMicros(micros(t))
}

// clean makes text storable on both databases (actions.CleanText): the rows
// below and the updates in update.go write nothing else.
var clean = actions.CleanText

func newRequestRow(r actions.Request) requestRow {
	r = cleanRequest(r)
	row := requestRow{
		ID: r.ID, RequesterSlackID: r.Requester.SlackID, RequesterEmail: r.Requester.Email, RequesterDirID: r.Requester.DirectoryID,
		Action: string(r.Action), Reason: r.Reason, Ticket: r.Ticket, State: string(r.State),
		CreatedUS: micros(r.CreatedAt), ExpiresUS: micros(r.ExpiresAt), UpdatedUS: micros(r.UpdatedAt),
		ApprovalsNeeded: r.ApprovalsNeeded, DecidedBySlackID: r.DecidedBy.SlackID, DecidedByEmail: r.DecidedBy.Email,
		DecisionNote: r.DecisionNote, Manual: r.Manual, Message: r.Message, SubmissionKey: nullString(r.SubmissionKey),
		LeaseOwner: r.LeaseOwner, LeaseUntilUS: nullMicros(r.LeaseUntil), Version: r.Version,
		NotifyTarget: r.NotifyTarget, NotifyManager: r.NotifyManager,
		Verify: joinMethods(r.Verify),
	}
	if c := r.Containment; c != nil {
		row.ContainsRequest, row.ContainStep, row.ContainSteps, row.AfterRequest = c.Reported, c.Step, c.Steps, c.After
	}
	return row
}

// request builds the domain request from its row; targets and approvals
// are added by the caller.
func (row requestRow) request() actions.Request {
	r := actions.Request{
		ID: row.ID, Requester: actions.Person{SlackID: row.RequesterSlackID, Email: row.RequesterEmail, DirectoryID: row.RequesterDirID},
		Action: actions.Action(row.Action), Reason: row.Reason, Ticket: row.Ticket, State: actions.State(row.State),
		CreatedAt: fromMicros(row.CreatedUS), ExpiresAt: fromMicros(row.ExpiresUS), UpdatedAt: fromMicros(row.UpdatedUS),
		ApprovalsNeeded: row.ApprovalsNeeded,
		DecidedBy:       actions.Person{SlackID: row.DecidedBySlackID, Email: row.DecidedByEmail},
		DecisionNote:    row.DecisionNote, Manual: row.Manual, Message: row.Message, SubmissionKey: row.SubmissionKey.String,
		LeaseOwner: row.LeaseOwner, LeaseUntil: fromNullMicros(row.LeaseUntilUS), Version: row.Version,
		NotifyTarget: row.NotifyTarget, NotifyManager: row.NotifyManager,
		Verify: splitMethods(row.Verify),
	}
	if row.ContainsRequest != "" {
		r.Containment = &actions.Containment{Reported: row.ContainsRequest, Step: row.ContainStep, Steps: row.ContainSteps, After: row.AfterRequest}
	}
	return r
}

// cleanRequest cleans the request's own text fields.
func cleanRequest(r actions.Request) actions.Request {
	for _, f := range []*string{&r.Requester.SlackID, &r.Requester.Email, &r.Requester.DirectoryID, &r.Reason, &r.Ticket,
		&r.DecidedBy.SlackID, &r.DecidedBy.Email, &r.DecisionNote, &r.Message, &r.SubmissionKey} {
		*f = clean(*f)
	}
	return r
}

func newTargetRow(id string, i int, t actions.Target) targetRow {
	t.SlackID, t.Email, t.DirectoryID = clean(t.SlackID), clean(t.Email), clean(t.DirectoryID)
	if t.Result != nil {
		res := *t.Result
		res.Detail = clean(res.Detail)
		t.Result = &res
	}
	row := targetRow{
		RequestID: id, Idx: i, SlackID: t.SlackID, Email: t.Email, DirectoryID: t.DirectoryID, Privileged: t.Privileged,
	}
	if t.Result != nil {
		row.Outcome = sql.NullString{String: string(t.Result.Outcome), Valid: true}
		row.Detail = t.Result.Detail
		row.ResultUS = sql.NullInt64{Int64: micros(t.Result.At), Valid: true}
	}
	return row
}

func (row targetRow) target() actions.Target {
	t := actions.Target{SlackID: row.SlackID, Email: row.Email, DirectoryID: row.DirectoryID, Privileged: row.Privileged}
	if row.Outcome.Valid {
		t.Result = &actions.TargetResult{
			Outcome: actions.Outcome(row.Outcome.String), Detail: row.Detail, At: fromMicros(row.ResultUS.Int64),
		}
	}
	return t
}

func newApprovalRow(id string, i int, a actions.Approval) approvalRow {
	return approvalRow{RequestID: id, Idx: i, ApproverSlackID: clean(a.By.SlackID), ApproverEmail: clean(a.By.Email),
		ApproverDirID: clean(a.By.DirectoryID), AtUS: micros(a.At)}
}

func (row approvalRow) approval() actions.Approval {
	by := actions.Person{SlackID: row.ApproverSlackID, Email: row.ApproverEmail, DirectoryID: row.ApproverDirID}
	return actions.Approval{By: by, At: fromMicros(row.AtUS)}
}

// normalize returns r exactly as the database gives it back: times in UTC
// at microseconds, empty lists nil.
func normalize(r actions.Request) actions.Request {
	out := newRequestRow(r).request()
	for i, t := range r.Targets {
		out.Targets = append(out.Targets, newTargetRow(r.ID, i, t).target())
	}
	for i, a := range r.Approvals {
		out.Approvals = append(out.Approvals, newApprovalRow(r.ID, i, a).approval())
	}
	for k, n := range r.Notices {
		out.Notices = append(out.Notices, newNoticeRow(r.ID, k, n).notice())
	}
	for i, v := range r.Verifications {
		out.Verifications = append(out.Verifications, newVerificationRow(r.ID, i, v).verification())
	}
	return out
}

// newEventRow stores a sealed event.
func newEventRow(e actions.Event) (eventRow, error) {
	row := eventRow{
		Seq: e.Seq, TimeUS: micros(e.Time), RequestID: e.RequestID, Event: string(e.Kind), Actor: e.Actor,
		Action: string(e.Action), Method: e.Method, Outcome: e.Outcome, Detail: e.Detail, PrevHash: e.PrevHash, Hash: e.Hash,
	}
	if len(e.Targets) > 0 {
		b, err := json.Marshal(e.Targets)
		if err != nil {
			return eventRow{}, fmt.Errorf("encode targets of event %d: %w", e.Seq, err)
		}
		row.Targets = sql.NullString{String: string(b), Valid: true}
	}
	if e.Target != nil {
		b, err := json.Marshal(e.Target)
		if err != nil {
			return eventRow{}, fmt.Errorf("encode target of event %d: %w", e.Seq, err)
		}
		row.Target = sql.NullString{String: string(b), Valid: true}
	}
	return row, nil
}

func (row eventRow) event() (actions.Event, error) {
	e := actions.Event{
		Seq: row.Seq, Time: fromMicros(row.TimeUS), RequestID: row.RequestID, Kind: actions.EventKind(row.Event),
		Actor: row.Actor, Action: actions.Action(row.Action), Method: row.Method, Outcome: row.Outcome, Detail: row.Detail,
		PrevHash: row.PrevHash, Hash: row.Hash,
	}
	if row.Targets.Valid {
		if err := json.Unmarshal([]byte(row.Targets.String), &e.Targets); err != nil {
			return actions.Event{}, fmt.Errorf("decode targets of event %d: %w", row.Seq, err)
		}
	}
	if row.Target.Valid {
		e.Target = new(actions.TargetRef)
		if err := json.Unmarshal([]byte(row.Target.String), e.Target); err != nil {
			return actions.Event{}, fmt.Errorf("decode target of event %d: %w", row.Seq, err)
		}
	}
	return e, nil
}
