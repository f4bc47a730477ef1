package actions

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNoAccount: the directory user has no active chat (Slack) account.
var ErrNoAccount = errors.New("no active Slack account")

// VerificationNotifier is implemented by a Notifier that reaches the people
// who verify callers: the Slack bot. The service finds it on its Notifier.
type VerificationNotifier interface {
	// Account returns the active chat account of the directory user whose
	// directory email is email, as a Person. It returns an error wrapping
	// ErrNoAccount when there is none (or it is deactivated).
	Account(ctx context.Context, email string) (Person, error)
	// AskToVerify asks verifier privately to confirm that the caller of r is
	// really the targets listed (indices into r.Targets): themself for
	// method target, the people they manage for method manager.
	AskToVerify(ctx context.Context, r Request, m VerifyMethod, verifier Person, targets []int) error
	// SecurityAlert raises text about r in the security channel.
	SecurityAlert(ctx context.Context, r Request, text string)
}

// VerifyNote tells the requester what starting a method did for one target.
type VerifyNote struct {
	Target int
	// Started: the verifier was asked, or the push was sent.
	Started bool
	// Number is the number the target must pick in their authenticator
	// (push with number matching), 0 when none. It is for the requester's
	// eyes only: it is never stored, logged or posted in a channel.
	Number int
	// Problem says why the method could not be used for the target.
	Problem string
}

// VerifyMethods returns the methods by which r's targets may be verified:
// those the policy gave the request that the directory can carry out.
func (s *Service) VerifyMethods(r Request) []VerifyMethod {
	var out []VerifyMethod
	for _, m := range r.Verify {
		if SupportsVerify(s.dir, m) {
			out = append(out, m)
		}
	}
	return out
}

func (s *Service) verifiers() (VerificationNotifier, error) {
	if vn, ok := s.notify.(VerificationNotifier); ok {
		return vn, nil
	}
	return nil, errors.New("caller verification needs a notifier that reaches people (the Slack bot)")
}

// StartVerification starts method m, on the requester by's word, for every
// target of request id that is not verified yet and that m was not tried on:
// it finds each verifier through the directory (the target's own directory
// email, or their manager) and their Slack account, or sends the push, then
// records the start and asks the verifiers. Errors: a *DecisionError
// (ErrForbidden for anyone but the requester or a method the policy does not
// list, audited as refused; ErrConflict when nothing is left to start;
// ErrExpired), ErrNotFound, or a store failure.
func (s *Service) StartVerification(ctx context.Context, id string, by Person, m VerifyMethod) (Request, []VerifyNote, error) {
	id = NormalizeRequestID(id)
	r, err := s.store.Request(ctx, id)
	if err != nil {
		return Request{}, nil, err
	}
	start := func(cands []VerifierCandidate) (Request, error) {
		return s.transition(ctx, id, by, func(r Request, now time.Time) (Request, []Event, error) {
			return r.StartVerification(s.Policy(), by, m, cands, now)
		})
	}
	vn, verr := s.verifiers()
	todo := r.Unverified(m)
	if err := r.checkStart(by, m, s.now()); err != nil || len(todo) == 0 {
		// The transition refuses it the same way, audited.
		out, err := start(nil)
		return out, nil, err
	}
	if verr != nil && m != VerifyPush {
		return Request{}, nil, verr
	}
	if !SupportsVerify(s.dir, m) {
		return Request{}, nil, decisionErr(ErrForbidden, "the %s directory cannot verify a caller by %s", s.dir.Name(), m)
	}
	cands := make([]VerifierCandidate, len(todo))
	numbers := map[int]int{}
	for k, i := range todo {
		c := s.candidate(ctx, vn, r, i, m)
		cands[k] = c.VerifierCandidate
		if c.number != 0 {
			numbers[i] = c.number
		}
	}
	out, err := start(cands)
	if err != nil {
		return Request{}, nil, err
	}
	notes := make([]VerifyNote, 0, len(todo))
	ask := map[string][]int{}
	var askOrder []Person
	for _, i := range todo {
		v, ok := out.latest(i, m)
		switch {
		case !ok:
			notes = append(notes, VerifyNote{Target: i, Problem: "verified or tried meanwhile"})
		case v.State == VerificationFailed:
			notes = append(notes, VerifyNote{Target: i, Problem: v.Detail})
		default:
			notes = append(notes, VerifyNote{Target: i, Started: true, Number: numbers[i]})
			if m != VerifyPush && v.StartedAt.Equal(out.UpdatedAt) {
				if _, seen := ask[v.Verifier.SlackID]; !seen {
					askOrder = append(askOrder, v.Verifier)
				}
				ask[v.Verifier.SlackID] = append(ask[v.Verifier.SlackID], i)
			}
		}
	}
	for _, p := range askOrder {
		if err := vn.AskToVerify(ctx, out, m, p, ask[p.SlackID]); err != nil {
			s.log.ErrorContext(ctx, "ask to verify", "request_id", out.ID, "method", m, "verifier", p.SlackID, "error", err)
			for k := range notes {
				for _, i := range ask[p.SlackID] {
					if notes[k].Target == i {
						notes[k].Problem = "the question could not be delivered; it fails unanswered after " + s.Policy().VerificationTTL.String()
					}
				}
			}
		}
	}
	return out, notes, nil
}

// candidate finds who can verify target i of r by m, or why no one can.
func (s *Service) candidate(ctx context.Context, vn VerificationNotifier, r Request, i int, m VerifyMethod) candidateWithNumber {
	t := r.Targets[i]
	c := candidateWithNumber{VerifierCandidate: VerifierCandidate{Target: i}}
	switch m {
	case VerifyTarget:
		// The target's own directory email, never what the requester typed.
		u, err := s.dir.ResolveUser(ctx, t.Email)
		switch {
		case err != nil:
			c.Unavailable = "the directory could not look the user up: " + err.Error()
			return c
		case u.ID != t.DirectoryID:
			c.Unavailable = fmt.Sprintf("the directory no longer resolves %s to the target", t.Email)
			return c
		}
		c.Verifier, c.Unavailable = s.account(ctx, vn, u.Email, "the user")
		c.Verifier.DirectoryID = u.ID
	case VerifyManager:
		mgr, err := s.dir.Manager(ctx, t.DirectoryID)
		switch {
		case errors.Is(err, ErrNoManager):
			c.Unavailable = "no manager in the directory"
			return c
		case err != nil:
			c.Unavailable = "the directory could not name the manager: " + err.Error()
			return c
		}
		c.Verifier, c.Unavailable = s.account(ctx, vn, mgr.Email, "the manager "+mgr.Email)
		c.Verifier.DirectoryID = mgr.ID
	case VerifyPush:
		pv, _ := s.dir.(PushVerifier)
		ch, err := pv.StartPush(ctx, t.DirectoryID)
		switch {
		case errors.Is(err, ErrNoPushFactor):
			c.Unavailable = "no push factor enrolled"
		case err != nil:
			c.Unavailable = "the push could not be sent: " + err.Error()
		default:
			c.Challenge, c.number = ch.Handle, ch.Number
			c.Detail = "push sent, transaction " + ch.TransactionID
			if ch.Number != 0 {
				c.Detail += ", with number matching"
			}
		}
	}
	return c
}

// candidateWithNumber is a candidate and, for a push, the number to read
// to the caller.
type candidateWithNumber struct {
	VerifierCandidate
	number int
}

// account finds the chat account of the directory user with email; who
// names them in the reason when there is none.
func (s *Service) account(ctx context.Context, vn VerificationNotifier, email, who string) (Person, string) {
	p, err := vn.Account(ctx, email)
	switch {
	case errors.Is(err, ErrNoAccount):
		return Person{}, who + " has no active Slack account"
	case err != nil:
		return Person{}, "Slack could not be asked for " + who + "'s account: " + err.Error()
	}
	if p.Email == "" {
		p.Email = email
	}
	return p, ""
}

// latest returns the most recent verification of target i by m.
func (r Request) latest(i int, m VerifyMethod) (Verification, bool) {
	for k := len(r.Verifications) - 1; k >= 0; k-- {
		if v := r.Verifications[k]; v.Target == i && v.Method == m {
			return v, true
		}
	}
	return Verification{}, false
}

// AnswerVerification records by's answer (Yes or No) to the verifications of
// request id that wait for them. A target's No denies the request and raises
// a security alert. Errors: a *DecisionError (ErrForbidden for anyone not
// asked, audited as refused; ErrConflict; ErrExpired), ErrNotFound.
func (s *Service) AnswerVerification(ctx context.Context, id string, by Person, yes bool) (Request, error) {
	r, err := s.transition(ctx, id, by, func(r Request, now time.Time) (Request, []Event, error) {
		return r.AnswerVerification(by, yes, now)
	})
	if err != nil {
		return r, err
	}
	if r.State == StateDenied && !yes {
		if vn, verr := s.verifiers(); verr == nil {
			vn.SecurityAlert(ctx, r, fmt.Sprintf(
				"Possible social engineering: %s (Slack %s) says they did not ask for %s, request %s, requested by %s (Slack %s) at %s. The request is denied.",
				who(r.DecidedBy), by.SlackID, r.Action, r.ID, who(r.Requester), r.Requester.SlackID, r.CreatedAt.UTC().Format(time.RFC3339)))
		}
	}
	s.afterApproval(ctx, r)
	return r, nil
}

// PollVerifications does the periodic work of caller verification: it
// fails verifications that got no answer within verification.ttl and asks
// the directory how each push in flight stands, recording the pushes that
// ended. It returns how many verifications it decided.
func (s *Service) PollVerifications(ctx context.Context) (int, error) {
	// Every pending request may hold a verification; more than this many
	// pending at once is far beyond a helpdesk's load.
	rs, err := s.store.ListRequests(ctx, RequestFilter{States: []State{StatePending}, Limit: 5000})
	if err != nil {
		return 0, fmt.Errorf("list pending requests: %w", err)
	}
	pv, _ := s.dir.(PushVerifier)
	n := 0
	for _, r := range rs {
		if r.Overdue(s.now()) {
			out, err := s.transition(ctx, r.ID, Person{SlackID: BotActor}, func(r Request, now time.Time) (Request, []Event, error) {
				return r.ExpireVerifications(now)
			})
			if err == nil {
				n++
				r = out
			} else if !errors.Is(err, ErrConflict) {
				return n, fmt.Errorf("expire verifications of %s: %w", r.ID, err)
			}
		}
		if pv == nil {
			continue
		}
		for _, v := range r.Verifications {
			if v.Method != VerifyPush || v.State != VerificationWaiting {
				continue
			}
			st, err := pv.PushResult(ctx, r.Targets[v.Target].DirectoryID, PushChallenge{Handle: v.Challenge})
			if err != nil {
				s.log.WarnContext(ctx, "poll push", "request_id", r.ID, "error", err)
				continue
			}
			var ok bool
			var detail string
			switch st.Outcome {
			case PushApproved:
				ok, detail = true, "push approved by the user, transaction "+st.TransactionID
			case PushRejected:
				detail = "push rejected by the user, transaction " + st.TransactionID
			case PushTimedOut:
				detail = "push timed out unanswered, transaction " + st.TransactionID
			default:
				continue
			}
			i := v.Target
			out, err := s.transition(ctx, r.ID, Person{SlackID: BotActor}, func(r Request, now time.Time) (Request, []Event, error) {
				return r.RecordPush(i, ok, detail, now)
			})
			if err != nil {
				if errors.Is(err, ErrConflict) {
					continue
				}
				return n, fmt.Errorf("record push of %s: %w", r.ID, err)
			}
			n++
			s.afterApproval(ctx, out)
		}
	}
	return n, nil
}

// RunVerifications polls caller verifications every interval until ctx
// ends.
func (s *Service) RunVerifications(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.PollVerifications(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "poll caller verifications", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
