package demo

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/mfadesk/mfadesk/actions"
)

// The demo directory's push: an Okta-Verify-like prompt with number
// matching, answered on the target's "phone" panel of the page.

// pushLife is how long a push waits for an answer, as Okta Verify's.
const pushLife = 5 * time.Minute

// pushFactor is the factor a push goes to.
const pushFactor = "Okta Verify"

var _ actions.PushVerifier = (*Directory)(nil)

// Push is a push on someone's phone.
type Push struct {
	ID      string
	UserID  string // directory ID
	Number  int    // the right number
	Choices []int  // what the phone offers, the right one among them
	Outcome actions.PushOutcome
	Sent    time.Time
}

// StartPush sends a push to the user's Okta Verify, with number matching.
func (d *Directory) StartPush(ctx context.Context, userID string) (actions.PushChallenge, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, err := d.user(userID)
	if err != nil {
		return actions.PushChallenge{}, err
	}
	if !slices.Contains(u.Factors, pushFactor) {
		return actions.PushChallenge{}, fmt.Errorf("demo directory: %s: %w", u.Email, actions.ErrNoPushFactor)
	}
	p := &Push{ID: "push-" + randomHex(6), UserID: userID, Outcome: actions.PushWaiting, Sent: d.now()}
	for len(p.Choices) < 3 {
		if n := 10 + randInt(90); !slices.Contains(p.Choices, n) {
			p.Choices = append(p.Choices, n)
		}
	}
	p.Number = p.Choices[randInt(3)]
	d.pushes = append(d.pushes, p)
	d.log(u, "Okta Verify push sent")
	if d.onPush != nil {
		go d.onPush()
	}
	return actions.PushChallenge{Handle: p.ID, TransactionID: "v2mst." + p.ID, Number: p.Number}, nil
}

// PushResult says how the push stands; an unanswered one times out after
// pushLife.
func (d *Directory) PushResult(ctx context.Context, userID string, c actions.PushChallenge) (actions.PushStatus, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.pushes {
		if p.ID == c.Handle && p.UserID == userID {
			if p.Outcome == actions.PushWaiting && d.now().Sub(p.Sent) > pushLife {
				p.Outcome = actions.PushTimedOut
			}
			return actions.PushStatus{Outcome: p.Outcome, TransactionID: "v2mst." + p.ID}, nil
		}
	}
	return actions.PushStatus{}, &actions.DirectoryError{Op: "push result", Status: 404, Code: "E0000007", Message: "Not found: " + c.Handle}
}

// Pushes returns the pushes waiting on the phone of the user with
// directory ID userID, oldest first.
func (d *Directory) Pushes(userID string) []Push {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Push
	for _, p := range d.pushes {
		if p.UserID == userID && p.Outcome == actions.PushWaiting && d.now().Sub(p.Sent) <= pushLife {
			c := *p
			c.Choices = slices.Clone(p.Choices)
			out = append(out, c)
		}
	}
	return out
}

// AnswerPush answers push id on userID's phone: the number picked, or 0
// for "No, it's not me". A wrong number rejects the push, as Okta Verify
// does.
func (d *Directory) AnswerPush(userID, id string, number int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.pushes {
		if p.ID != id || p.UserID != userID {
			continue
		}
		if p.Outcome != actions.PushWaiting {
			return fmt.Errorf("this push was already answered (%s)", p.Outcome)
		}
		u := d.users[userID]
		switch {
		case number == p.Number:
			p.Outcome = actions.PushApproved
			d.log(u, "Okta Verify push approved with the right number")
		case number == 0:
			p.Outcome = actions.PushRejected
			d.log(u, "Okta Verify push denied: \"No, it's not me\"")
		default:
			p.Outcome = actions.PushRejected
			d.log(u, fmt.Sprintf("Okta Verify push rejected: wrong number %d", number))
		}
		return nil
	}
	return fmt.Errorf("no push %q on this phone", id)
}

// log records what happened to u, for the page's directory view. The
// caller holds d.mu.
func (d *Directory) log(u *UserState, what string) {
	u.Log = append(u.Log, d.now().Format("15:04:05")+" "+what)
}

func randInt(n int) int {
	k, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return int(k.Int64())
}
