package entra

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
)

// authMethod is an item of /users/{id}/authentication/methods.
type authMethod struct {
	ID          string `json:"id"`
	Type        string `json:"@odata.type"`
	PhoneType   string `json:"phoneType"`
	DisplayName string `json:"displayName"`
}

// methodKind is how mfadesk deletes one type of authentication method.
type methodKind struct {
	nav   string // navigation of microsoft.graph.authentication
	label string
	rank  int // deletion order, lowest first
}

const passwordMethodType = "passwordAuthenticationMethod"

// methodKinds maps an @odata.type (without "#microsoft.graph.") to the
// per-type collection that deletes it. Phones go last: they are the usual
// default method, and a user can't keep an alternate mobile without a mobile,
// so the alternate mobile goes before the mobile.
var methodKinds = map[string]methodKind{
	"temporaryAccessPassAuthenticationMethod":     {"temporaryAccessPassMethods", "Temporary Access Pass", 10},
	"emailAuthenticationMethod":                   {"emailMethods", "email", 20},
	"fido2AuthenticationMethod":                   {"fido2Methods", "passkey (FIDO2)", 30},
	"windowsHelloForBusinessAuthenticationMethod": {"windowsHelloForBusinessMethods", "Windows Hello for Business", 40},
	"platformCredentialAuthenticationMethod":      {"platformCredentialMethods", "platform credential", 50},
	"softwareOathAuthenticationMethod":            {"softwareOathMethods", "software OATH token", 60},
	"microsoftAuthenticatorAuthenticationMethod":  {"microsoftAuthenticatorMethods", "Microsoft Authenticator", 70},
	"phoneAuthenticationMethod":                   {"phoneMethods", "phone", 80},
}

var phoneRank = map[string]int{"office": 0, "alternateMobile": 1, "mobile": 2}

func methodType(m authMethod) string {
	return strings.TrimPrefix(strings.TrimPrefix(m.Type, "#"), "microsoft.graph.")
}

func (m authMethod) kind() (methodKind, bool) {
	k, ok := methodKinds[methodType(m)]
	if !ok {
		return k, false
	}
	if k.nav == "phoneMethods" {
		r, known := phoneRank[m.PhoneType]
		if !known {
			r = 0
		}
		k.rank += r
		if m.PhoneType != "" {
			k.label = "phone (" + m.PhoneType + ")"
		}
	}
	return k, true
}

func (m authMethod) label() string {
	k, ok := m.kind()
	l := k.label
	if !ok {
		l = methodType(m)
	}
	if name := strings.TrimSpace(m.DisplayName); name != "" {
		if utf8.RuneCountInString(name) > 40 {
			name = string([]rune(name)[:40]) + "…"
		}
		l += fmt.Sprintf(" %q", name)
	}
	return l
}

// reregisterError is a require-reregister-mfa that removed some methods but
// not all. Its message is the whole detail; it wraps each failure, so that
// errors.As finds a *actions.DirectoryError.
type reregisterError struct {
	detail string
	errs   []error
}

func (e *reregisterError) Error() string   { return e.detail }
func (e *reregisterError) Unwrap() []error { return e.errs }

// requireReregister deletes every authentication method of the user but the
// password, so that the user must register MFA again at next sign-in.
//
// Graph refuses to delete the user's default MFA method while other methods
// remain, and v1.0 does not say which method is the default (signInPreferences
// is beta-only). So a deletion that Graph refuses with 400 is put back and
// tried again once the others are gone; it fails only when a whole pass makes
// no progress.
func (d *Directory) requireReregister(ctx context.Context, userID string) (actions.Performed, error) {
	var all []authMethod
	err := d.list(ctx, "list authentication methods", userPath(userID)+"/authentication/methods", nil,
		func(raw json.RawMessage) error {
			var m authMethod
			if err := json.Unmarshal(raw, &m); err != nil {
				return fmt.Errorf("decode authentication method: %w", err)
			}
			all = append(all, m)
			return nil
		})
	if err != nil {
		return actions.Performed{}, err
	}
	var todo []authMethod
	var unknown []string
	for _, m := range all {
		switch _, ok := m.kind(); {
		case methodType(m) == passwordMethodType:
		case ok:
			todo = append(todo, m)
		default:
			unknown = append(unknown, m.label()+": mfadesk does not delete this type")
		}
	}
	sort.SliceStable(todo, func(i, j int) bool {
		ki, _ := todo[i].kind()
		kj, _ := todo[j].kind()
		return ki.rank < kj.rank
	})
	if len(todo) == 0 {
		detail := "no authentication methods to remove (the password is kept)"
		if len(unknown) > 0 {
			detail += "; not removed: " + strings.Join(unknown, "; ")
		}
		return actions.Performed{Outcome: actions.OutcomeSkipped, Detail: detail}, nil
	}

	removed, failed := d.deleteMethods(ctx, userID, todo)

	var b strings.Builder
	fmt.Fprintf(&b, "removed %d of %d authentication methods", len(removed), len(todo))
	if len(removed) > 0 {
		b.WriteString(": " + strings.Join(removed, ", "))
	}
	b.WriteString("; the password is kept")
	notRemoved := append([]string(nil), unknown...)
	var errs []error
	for _, f := range failed {
		notRemoved = append(notRemoved, f.m.label()+": "+f.err.Error())
		errs = append(errs, f.err)
	}
	if len(notRemoved) > 0 {
		b.WriteString("; not removed: " + strings.Join(notRemoved, "; "))
	}
	if len(failed) > 0 {
		return actions.Performed{Detail: b.String()}, &reregisterError{detail: "require re-register MFA: " + b.String(), errs: errs}
	}
	b.WriteString("; the user must register MFA again at next sign-in")
	return actions.Performed{Outcome: actions.OutcomeOK, Detail: b.String()}, nil
}

type methodFailure struct {
	m   authMethod
	err error
}

// deleteMethods deletes todo in order. Deletions refused with 400 (the
// default method while others remain, a mobile phone while an alternate
// mobile remains) are retried after the others, as long as a pass makes
// progress.
func (d *Directory) deleteMethods(ctx context.Context, userID string, todo []authMethod) (removed []string, failed []methodFailure) {
	pending := todo
	for len(pending) > 0 {
		var refused []methodFailure
		progress := false
		for _, m := range pending {
			err := d.deleteMethod(ctx, userID, m)
			switch {
			case err == nil:
				removed = append(removed, m.label())
				progress = true
			case httpapi.HasStatus(err, http.StatusNotFound):
				removed = append(removed, m.label()+" (already gone)")
				progress = true
			case httpapi.HasStatus(err, http.StatusBadRequest) && ctx.Err() == nil:
				refused = append(refused, methodFailure{m, err})
			default:
				failed = append(failed, methodFailure{m, err})
			}
		}
		if !progress {
			return removed, append(failed, refused...)
		}
		pending = pending[:0:0]
		for _, f := range refused {
			pending = append(pending, f.m)
		}
	}
	return removed, failed
}

func (d *Directory) deleteMethod(ctx context.Context, userID string, m authMethod) error {
	k, _ := m.kind()
	path := userPath(userID) + "/authentication/" + k.nav + "/" + url.PathEscape(m.ID)
	_, err := d.do(ctx, call{op: "delete " + k.label + " method", method: http.MethodDelete, path: path})
	return err
}
