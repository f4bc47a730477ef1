package mock

import (
	"context"

	"github.com/mfadesk/mfadesk/actions"
)

// Notifier is an actions.Notifier whose methods call the matching Fn field.
type Notifier struct {
	calls
	ChangedFn       func(ctx context.Context, r actions.Request)
	DeliverSecretFn func(ctx context.Context, r actions.Request, t actions.Target, s *actions.Secret) error
	ManualStepsFn   func(ctx context.Context, r actions.Request, steps string) error
}

var _ actions.Notifier = (*Notifier)(nil)

// Changed calls ChangedFn.
func (n *Notifier) Changed(ctx context.Context, r actions.Request) {
	called(&n.calls, "Notifier", "Changed", n.ChangedFn)(ctx, r)
}

// DeliverSecret calls DeliverSecretFn.
func (n *Notifier) DeliverSecret(ctx context.Context, r actions.Request, t actions.Target, s *actions.Secret) error {
	return called(&n.calls, "Notifier", "DeliverSecret", n.DeliverSecretFn)(ctx, r, t, s)
}

// ManualSteps calls ManualStepsFn.
func (n *Notifier) ManualSteps(ctx context.Context, r actions.Request, steps string) error {
	return called(&n.calls, "Notifier", "ManualSteps", n.ManualStepsFn)(ctx, r, steps)
}
