package mock

import (
	"context"
	"time"

	"github.com/mfadesk/mfadesk/actions"
)

// Store is an actions.Store whose methods call the matching Fn field.
type Store struct {
	calls
	CreateRequestFn          func(ctx context.Context, r actions.Request, events []actions.Event) error
	RequestFn                func(ctx context.Context, id string) (actions.Request, error)
	RequestBySubmissionKeyFn func(ctx context.Context, key string) (actions.Request, error)
	UpdateFn                 func(ctx context.Context, id string, fn func(actions.Request) (actions.Request, []actions.Event, error)) (actions.Request, error)
	UpdateCreateFn           func(ctx context.Context, id string, fn func(actions.Request) (actions.Request, []actions.Request, []actions.Event, error)) (actions.Request, []actions.Request, error)
	ClaimNoticeFn            func(ctx context.Context, now time.Time, fn func(actions.Request, int) (actions.Request, []actions.Event, error)) (actions.Request, int, error)
	AppendEventsFn           func(ctx context.Context, events ...actions.Event) error
	ListRequestsFn           func(ctx context.Context, f actions.RequestFilter) ([]actions.Request, error)
	ClaimNextFn              func(ctx context.Context, now time.Time, takeOver bool, claim func(actions.Request) (actions.Request, []actions.Event, error)) (actions.Request, error)
	RenewLeaseFn             func(ctx context.Context, id, owner string, until time.Time) error
	EventsFn                 func(ctx context.Context, afterSeq int64, since time.Time, fn func(actions.Event) error) error
}

var _ actions.Store = (*Store)(nil)

// CreateRequest calls CreateRequestFn.
func (s *Store) CreateRequest(ctx context.Context, r actions.Request, events []actions.Event) error {
	return called(&s.calls, "Store", "CreateRequest", s.CreateRequestFn)(ctx, r, events)
}

// Request calls RequestFn.
func (s *Store) Request(ctx context.Context, id string) (actions.Request, error) {
	return called(&s.calls, "Store", "Request", s.RequestFn)(ctx, id)
}

// RequestBySubmissionKey calls RequestBySubmissionKeyFn.
func (s *Store) RequestBySubmissionKey(ctx context.Context, key string) (actions.Request, error) {
	return called(&s.calls, "Store", "RequestBySubmissionKey", s.RequestBySubmissionKeyFn)(ctx, key)
}

// Update calls UpdateFn.
func (s *Store) Update(ctx context.Context, id string, fn func(actions.Request) (actions.Request, []actions.Event, error)) (actions.Request, error) {
	return called(&s.calls, "Store", "Update", s.UpdateFn)(ctx, id, fn)
}

// UpdateCreate calls UpdateCreateFn.
func (s *Store) UpdateCreate(ctx context.Context, id string, fn func(actions.Request) (actions.Request, []actions.Request, []actions.Event, error)) (actions.Request, []actions.Request, error) {
	return called(&s.calls, "Store", "UpdateCreate", s.UpdateCreateFn)(ctx, id, fn)
}

// ClaimNotice calls ClaimNoticeFn.
func (s *Store) ClaimNotice(ctx context.Context, now time.Time, fn func(actions.Request, int) (actions.Request, []actions.Event, error)) (actions.Request, int, error) {
	return called(&s.calls, "Store", "ClaimNotice", s.ClaimNoticeFn)(ctx, now, fn)
}

// AppendEvents calls AppendEventsFn.
func (s *Store) AppendEvents(ctx context.Context, events ...actions.Event) error {
	return called(&s.calls, "Store", "AppendEvents", s.AppendEventsFn)(ctx, events...)
}

// ListRequests calls ListRequestsFn.
func (s *Store) ListRequests(ctx context.Context, f actions.RequestFilter) ([]actions.Request, error) {
	return called(&s.calls, "Store", "ListRequests", s.ListRequestsFn)(ctx, f)
}

// ClaimNext calls ClaimNextFn.
func (s *Store) ClaimNext(ctx context.Context, now time.Time, takeOver bool, claim func(actions.Request) (actions.Request, []actions.Event, error)) (actions.Request, error) {
	return called(&s.calls, "Store", "ClaimNext", s.ClaimNextFn)(ctx, now, takeOver, claim)
}

// RenewLease calls RenewLeaseFn.
func (s *Store) RenewLease(ctx context.Context, id, owner string, until time.Time) error {
	return called(&s.calls, "Store", "RenewLease", s.RenewLeaseFn)(ctx, id, owner, until)
}

// Events calls EventsFn.
func (s *Store) Events(ctx context.Context, afterSeq int64, since time.Time, fn func(actions.Event) error) error {
	return called(&s.calls, "Store", "Events", s.EventsFn)(ctx, afterSeq, since, fn)
}
