package bot

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"

	"github.com/mfadesk/mfadesk/actions"
)

// explain is the one place that turns an error into what a person reads.
// Domain errors explain themselves; anything else gets a reference, and its
// detail goes to the log only.
func (b *Bot) explain(ctx context.Context, err error, requestID string) string {
	var v *actions.ValidationError
	var d *actions.DecisionError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &v):
		lines := make([]string, len(v.Problems))
		for i, p := range v.Problems {
			lines[i] = "• " + sentence(p.Message)
		}
		return strings.Join(lines, "\n")
	case errors.As(err, &d):
		return sentence(d.Reason)
	case errors.Is(err, actions.ErrNotFound):
		if requestID != "" {
			return "There is no request `" + esc(clip(requestID, 40)) + "`."
		}
		return "That was not found."
	case errors.Is(err, actions.ErrForbidden):
		return "You may not do that."
	}
	ref := newRef()
	b.log.ErrorContext(ctx, "request failed", "ref", ref, "request_id", requestID, "error", err)
	return "Something went wrong (reference `" + ref + "`). Please try again; if it keeps failing, give the reference to whoever runs mfadesk."
}

// newRef returns a short reference that ties what a person saw to the log.
func newRef() string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var b [8]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, len(b)+1)
	out[0] = 'E'
	for i, c := range b {
		out[i+1] = alphabet[int(c)%len(alphabet)]
	}
	return string(out)
}
