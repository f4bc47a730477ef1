package mock

import (
	"context"
	"time"

	"github.com/mfadesk/mfadesk/actions"
)

// Service is the request workflow as the Slack bot sees it (bot.Service),
// each method calling the matching Fn field. It is declared here, not in
// bot, so that bot's own tests can use it; bot's tests check that it fits,
// so a method added to bot.Service is added here too.
type Service struct {
	calls
	SubmitFn             func(ctx context.Context, d actions.Draft) (actions.Request, error)
	CheckDraftFn         func(d actions.Draft) error
	RequestableFn        func(p actions.Person) []actions.Action
	MaxTargetsFn         func() int
	ApproveFn            func(ctx context.Context, id string, by actions.Person) (actions.Request, error)
	DenyFn               func(ctx context.Context, id string, by actions.Person, reason string) (actions.Request, error)
	CancelFn             func(ctx context.Context, id string, by actions.Person) (actions.Request, error)
	MarkManualFn         func(ctx context.Context, id string, by actions.Person, done bool, note string) (actions.Request, error)
	AuthorizeDenyFn      func(ctx context.Context, id string, by actions.Person) (actions.Request, error)
	BeginStepUpFn        func(ctx context.Context, id string, by actions.Person) (actions.Request, string, error)
	StatusFn             func(ctx context.Context, id string, by actions.Person) (actions.Request, error)
	GetFn                func(ctx context.Context, id string) (actions.Request, error)
	ActionableFn         func(ctx context.Context, by actions.Person) ([]actions.Request, error)
	ManualStepsFn        func(a actions.Action) string
	AttachMessageFn      func(ctx context.Context, id, ref string) error
	AbandonFn            func(ctx context.Context, id, reason string) (actions.Request, error)
	VerifyMethodsFn      func(r actions.Request) []actions.VerifyMethod
	StartVerificationFn  func(ctx context.Context, id string, by actions.Person, m actions.VerifyMethod) (actions.Request, []actions.VerifyNote, error)
	AnswerVerificationFn func(ctx context.Context, id string, by actions.Person, yes bool) (actions.Request, error)
	ReportNotMeFn        func(ctx context.Context, id string, by actions.Person) (actions.Report, error)
	ContainmentOfFn      func(ctx context.Context, id string) ([]actions.Request, error)
	NotMeTermsFn         func() (containment []actions.Action, ttl time.Duration)
	SureHoldsNoRoleFn    func(slackID string) bool
}

// Submit calls SubmitFn.
func (s *Service) Submit(ctx context.Context, d actions.Draft) (actions.Request, error) {
	return called(&s.calls, "Service", "Submit", s.SubmitFn)(ctx, d)
}

// CheckDraft calls CheckDraftFn.
func (s *Service) CheckDraft(d actions.Draft) error {
	return called(&s.calls, "Service", "CheckDraft", s.CheckDraftFn)(d)
}

// Requestable calls RequestableFn.
func (s *Service) Requestable(p actions.Person) []actions.Action {
	return called(&s.calls, "Service", "Requestable", s.RequestableFn)(p)
}

// MaxTargets calls MaxTargetsFn.
func (s *Service) MaxTargets() int {
	return called(&s.calls, "Service", "MaxTargets", s.MaxTargetsFn)()
}

// Approve calls ApproveFn.
func (s *Service) Approve(ctx context.Context, id string, by actions.Person) (actions.Request, error) {
	return called(&s.calls, "Service", "Approve", s.ApproveFn)(ctx, id, by)
}

// Deny calls DenyFn.
func (s *Service) Deny(ctx context.Context, id string, by actions.Person, reason string) (actions.Request, error) {
	return called(&s.calls, "Service", "Deny", s.DenyFn)(ctx, id, by, reason)
}

// Cancel calls CancelFn.
func (s *Service) Cancel(ctx context.Context, id string, by actions.Person) (actions.Request, error) {
	return called(&s.calls, "Service", "Cancel", s.CancelFn)(ctx, id, by)
}

// MarkManual calls MarkManualFn.
func (s *Service) MarkManual(ctx context.Context, id string, by actions.Person, done bool, note string) (actions.Request, error) {
	return called(&s.calls, "Service", "MarkManual", s.MarkManualFn)(ctx, id, by, done, note)
}

// AuthorizeDeny calls AuthorizeDenyFn.
func (s *Service) AuthorizeDeny(ctx context.Context, id string, by actions.Person) (actions.Request, error) {
	return called(&s.calls, "Service", "AuthorizeDeny", s.AuthorizeDenyFn)(ctx, id, by)
}

// BeginStepUp calls BeginStepUpFn.
func (s *Service) BeginStepUp(ctx context.Context, id string, by actions.Person) (actions.Request, string, error) {
	return called(&s.calls, "Service", "BeginStepUp", s.BeginStepUpFn)(ctx, id, by)
}

// Status calls StatusFn.
func (s *Service) Status(ctx context.Context, id string, by actions.Person) (actions.Request, error) {
	return called(&s.calls, "Service", "Status", s.StatusFn)(ctx, id, by)
}

// Get calls GetFn.
func (s *Service) Get(ctx context.Context, id string) (actions.Request, error) {
	return called(&s.calls, "Service", "Get", s.GetFn)(ctx, id)
}

// Actionable calls ActionableFn.
func (s *Service) Actionable(ctx context.Context, by actions.Person) ([]actions.Request, error) {
	return called(&s.calls, "Service", "Actionable", s.ActionableFn)(ctx, by)
}

// ManualSteps calls ManualStepsFn.
func (s *Service) ManualSteps(a actions.Action) string {
	return called(&s.calls, "Service", "ManualSteps", s.ManualStepsFn)(a)
}

// AttachMessage calls AttachMessageFn.
func (s *Service) AttachMessage(ctx context.Context, id, ref string) error {
	return called(&s.calls, "Service", "AttachMessage", s.AttachMessageFn)(ctx, id, ref)
}

// Abandon calls AbandonFn.
func (s *Service) Abandon(ctx context.Context, id, reason string) (actions.Request, error) {
	return called(&s.calls, "Service", "Abandon", s.AbandonFn)(ctx, id, reason)
}

// VerifyMethods calls VerifyMethodsFn.
func (s *Service) VerifyMethods(r actions.Request) []actions.VerifyMethod {
	return called(&s.calls, "Service", "VerifyMethods", s.VerifyMethodsFn)(r)
}

// StartVerification calls StartVerificationFn.
func (s *Service) StartVerification(ctx context.Context, id string, by actions.Person, m actions.VerifyMethod) (actions.Request, []actions.VerifyNote, error) {
	return called(&s.calls, "Service", "StartVerification", s.StartVerificationFn)(ctx, id, by, m)
}

// AnswerVerification calls AnswerVerificationFn.
func (s *Service) AnswerVerification(ctx context.Context, id string, by actions.Person, yes bool) (actions.Request, error) {
	return called(&s.calls, "Service", "AnswerVerification", s.AnswerVerificationFn)(ctx, id, by, yes)
}

// ReportNotMe calls ReportNotMeFn.
func (s *Service) ReportNotMe(ctx context.Context, id string, by actions.Person) (actions.Report, error) {
	return called(&s.calls, "Service", "ReportNotMe", s.ReportNotMeFn)(ctx, id, by)
}

// ContainmentOf calls ContainmentOfFn.
func (s *Service) ContainmentOf(ctx context.Context, id string) ([]actions.Request, error) {
	return called(&s.calls, "Service", "ContainmentOf", s.ContainmentOfFn)(ctx, id)
}

// NotMeTerms calls NotMeTermsFn.
func (s *Service) NotMeTerms() (containment []actions.Action, ttl time.Duration) {
	return called(&s.calls, "Service", "NotMeTerms", s.NotMeTermsFn)()
}

// SureHoldsNoRole calls SureHoldsNoRoleFn.
func (s *Service) SureHoldsNoRole(slackID string) bool {
	return called(&s.calls, "Service", "SureHoldsNoRole", s.SureHoldsNoRoleFn)(slackID)
}
