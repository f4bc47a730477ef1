package okta

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
)

var _ actions.PushVerifier = (*Directory)(nil)

// factor is the part of a UserFactor this package reads.
type factor struct {
	ID         string `json:"id"`
	FactorType string `json:"factorType"`
	Provider   string `json:"provider"`
	Status     string `json:"status"`
}

// pushTransaction is Okta's answer to a push verify (201, WAITING) and to a
// poll of its transaction.
type pushTransaction struct {
	FactorResult string `json:"factorResult"`
	Embedded     struct {
		Challenge *struct {
			CorrectAnswer int `json:"correctAnswer"`
		} `json:"challenge"`
	} `json:"_embedded"`
	Links struct {
		Poll *struct {
			Href string `json:"href"`
		} `json:"poll"`
	} `json:"_links"`
}

// StartPush sends a number matching push to the user's Okta Verify: it lists
// the user's factors (GET /api/v1/users/{userId}/factors), picks the active
// push factor of provider OKTA, and verifies it (POST
// /api/v1/users/{userId}/factors/{factorId}/verify with
// useNumberMatchingChallenge), which Okta answers 201 WAITING with the poll
// link naming the transaction and, with number matching, the correct
// answer. A user without an active Okta Verify push factor is an error
// wrapping actions.ErrNoPushFactor.
func (d *Directory) StartPush(ctx context.Context, userID string) (actions.PushChallenge, error) {
	if userID == "" {
		return actions.PushChallenge{}, errors.New("okta: push: empty user id")
	}
	var fs []factor
	if _, err := d.api.Do(ctx, httpapi.Request{
		Op: "list factors", Method: http.MethodGet, Path: httpapi.Path("api", "v1", "users", userID, "factors"),
	}, &fs); err != nil {
		return actions.PushChallenge{}, fmt.Errorf("okta: factors of %s: %w", userID, err)
	}
	var f *factor
	for i := range fs {
		if fs[i].FactorType == "push" && fs[i].Provider == "OKTA" && fs[i].Status == "ACTIVE" {
			f = &fs[i]
			break
		}
	}
	if f == nil {
		return actions.PushChallenge{}, fmt.Errorf("okta: %s has no active Okta Verify push factor: %w", userID, actions.ErrNoPushFactor)
	}
	var tx pushTransaction
	if _, err := d.api.Do(ctx, httpapi.Request{
		Op: "send push", Method: http.MethodPost, Path: httpapi.Path("api", "v1", "users", userID, "factors", f.ID, "verify"),
		Body: map[string]any{"useNumberMatchingChallenge": true},
		// A second try would send a second push with another number.
		NotIdempotent: true,
	}, &tx); err != nil {
		return actions.PushChallenge{}, fmt.Errorf("okta: push to %s: %w", userID, err)
	}
	txID, err := transactionID(tx, userID, f.ID)
	if err != nil {
		return actions.PushChallenge{}, err
	}
	ch := actions.PushChallenge{Handle: f.ID + "/" + txID, TransactionID: txID}
	if tx.Embedded.Challenge != nil {
		ch.Number = tx.Embedded.Challenge.CorrectAnswer
	}
	d.log.InfoContext(ctx, "push sent", "directory_id", userID, "transaction", txID, "number_matching", ch.Number != 0)
	return ch, nil
}

// transactionID takes the transaction ID from the poll link, which must be
// this user's and factor's transaction.
func transactionID(tx pushTransaction, userID, factorID string) (string, error) {
	if tx.Links.Poll == nil {
		return "", fmt.Errorf("okta: push to %s: the answer (%s) has no poll link", userID, tx.FactorResult)
	}
	href := tx.Links.Poll.Href
	want := "/api/v1/users/" + userID + "/factors/" + factorID + "/transactions/"
	i := strings.Index(href, want)
	id := ""
	if i >= 0 {
		id = href[i+len(want):]
	}
	if id == "" || strings.ContainsAny(id, "/?#") {
		return "", fmt.Errorf("okta: push to %s: unexpected poll link %q", userID, href)
	}
	return id, nil
}

// PushResult reads the push's transaction (GET
// /api/v1/users/{userId}/factors/{factorId}/transactions/{transactionId}):
// WAITING (with or without number matching) is waiting; SUCCESS approved;
// REJECTED rejected; TIMEOUT timed out.
func (d *Directory) PushResult(ctx context.Context, userID string, c actions.PushChallenge) (actions.PushStatus, error) {
	factorID, txID, ok := strings.Cut(c.Handle, "/")
	if !ok || factorID == "" || txID == "" || userID == "" {
		return actions.PushStatus{}, fmt.Errorf("okta: push handle %q for %q is not factor/transaction", c.Handle, userID)
	}
	var tx pushTransaction
	if _, err := d.api.Do(ctx, httpapi.Request{
		Op: "poll push", Method: http.MethodGet,
		Path: httpapi.Path("api", "v1", "users", userID, "factors", factorID, "transactions", txID),
	}, &tx); err != nil {
		return actions.PushStatus{}, fmt.Errorf("okta: poll push %s: %w", txID, err)
	}
	st := actions.PushStatus{TransactionID: txID}
	switch tx.FactorResult {
	case "SUCCESS":
		st.Outcome = actions.PushApproved
	case "REJECTED":
		st.Outcome = actions.PushRejected
	case "TIMEOUT":
		st.Outcome = actions.PushTimedOut
	case "WAITING", "WAITING (with number matching challenge)":
		st.Outcome = actions.PushWaiting
	default:
		return actions.PushStatus{}, fmt.Errorf("okta: poll push %s: unknown factorResult %q", txID, tx.FactorResult)
	}
	return st, nil
}
