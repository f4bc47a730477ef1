package stepup

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"

	"github.com/mfadesk/mfadesk/actions"
)

// pageData is what the small result page shows.
type pageData struct {
	OK     bool
	Title  string
	Detail string
	Next   string
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="referrer" content="no-referrer"><title>mfadesk: {{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
h1{font-size:1.4rem}.ok{color:#1a7f37}.no{color:#b42318}</style></head>
<body><h1 id="title" class="{{if .OK}}ok{{else}}no{{end}}">{{.Title}}</h1>
<p id="detail">{{.Detail}}</p>{{if .Next}}<p id="next">{{.Next}}</p>{{end}}
<p>You can close this tab and go back to Slack.</p></body></html>`))

func (h *Handler) page(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	if err := pageTmpl.Execute(w, d); err != nil {
		h.log.Warn("step-up: write page", "error", err)
	}
}

func failed(detail string) pageData {
	return pageData{Title: "Not approved", Detail: detail}
}

func approved(r actions.Request) pageData {
	d := pageData{OK: true, Title: "Approved",
		Detail: fmt.Sprintf("Your sign-in was checked and your approval of request %s (%s) is recorded.", r.ID, r.Action.Title())}
	switch r.State {
	case actions.StateApproved:
		d.Next = "The request runs now; its message in Slack shows the progress and the result."
	case actions.StateRunning:
		d.Next = "The request is a manual step: its instructions are in Slack."
	case actions.StatePending:
		d.Next = fmt.Sprintf("It needs %d more approval(s) before it runs.", max(r.ApprovalsNeeded-len(r.Approvals), 1))
	}
	return d
}

// refused shows why a step-up was refused.
func (h *Handler) refused(w http.ResponseWriter, r *http.Request, err error) {
	var se *actions.StepUpError
	if !errors.As(err, &se) {
		h.log.ErrorContext(r.Context(), "step-up failed", "error", err)
		h.page(w, http.StatusInternalServerError, failed("Something went wrong on mfadesk's side; nothing was approved. Click Approve in Slack to try again."))
		return
	}
	status, title := http.StatusForbidden, "Not approved"
	switch se.Problem {
	case actions.StepUpStale:
		title = "Not approved: the sign-in was not fresh"
	case actions.StepUpNoMFA:
		title = "Not approved: no MFA"
	case actions.StepUpWrongPerson:
		title = "Not approved: someone else signed in"
	case actions.StepUpNoCookie:
		title = "Not approved: another browser"
	case actions.StepUpBadLink:
		status, title = http.StatusGone, "Not approved: this link no longer works"
		if errors.Is(se, actions.ErrNotFound) {
			status = http.StatusNotFound
		}
	case actions.StepUpProvider:
		status, title = http.StatusBadGateway, "Not approved: the sign-in did not complete"
	case actions.StepUpDecision:
		status = http.StatusConflict
	}
	h.page(w, status, pageData{Title: title, Detail: se.Reason + ".", Next: "Nothing was approved. To approve, click Approve in Slack again."})
}
