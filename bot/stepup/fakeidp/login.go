package fakeidp

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
)

const loginPath = "/login"

// Form fields of the sign-in page, for tests that post it without a browser.
const (
	FieldRequest = "id"   // the provider's authorization request ID
	FieldUser    = "user" // the Subject of the User signing in
	FieldMFA     = "mfa"  // "yes": amr [pwd mfa otp]; else amr [pwd]
	FieldACR     = "acr"  // the acr to put in the token, or empty
	FieldAge     = "age"  // seconds since the sign-in happened: auth_time = now - age
)

// Choice is what the person on the sign-in page picks.
type Choice struct {
	Subject string
	MFA     bool
	ACR     string
	// Age makes the sign-in look this long ago (a stale auth_time).
	Age time.Duration
}

// Form returns the sign-in form for authorization request id with c chosen,
// as the page would post it.
func (c Choice) Form(id string) url.Values {
	v := url.Values{FieldRequest: {id}, FieldUser: {c.Subject}, FieldACR: {c.ACR},
		FieldAge: {strconv.Itoa(int(c.Age / time.Second))}, FieldMFA: {"no"}}
	if c.MFA {
		v.Set(FieldMFA, "yes")
	}
	return v
}

var page = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in: test identity provider</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
fieldset{margin:1rem 0;border:1px solid #ccc;border-radius:6px}label{display:block;margin:.3rem 0}
button{font-size:1rem;padding:.5rem 1rem;margin:.3rem .3rem 0 0}.err{color:#b00}</style></head>
<body><h1>Test identity provider</h1>
<p>This is mfadesk's stand-in for Entra ID, Okta or Google. Choose who you are and how you sign in.</p>
{{if .Error}}<p class="err" id="error">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="id" value="{{.ID}}">
<fieldset><legend>Who signs in</legend>
{{range $i, $u := .Users}}<label><input type="radio" name="user" value="{{$u.Subject}}"{{if eq $i 0}} checked{{end}}> {{$u.Name}} &lt;{{$u.Email}}&gt;</label>
{{end}}</fieldset>
<fieldset><legend>When</legend>
<label><input type="radio" name="age" value="0" checked> just now</label>
<label><input type="radio" name="age" value="900"> 15 minutes ago (a remembered sign-in)</label>
</fieldset>
{{if .ACRs}}<fieldset><legend>Authentication context (acr)</legend>
<label><input type="radio" name="acr" value="" checked> none</label>
{{range .ACRs}}<label><input type="radio" name="acr" value="{{.}}"> {{.}}</label>
{{end}}</fieldset>{{end}}
<button type="submit" name="mfa" value="yes" id="with-mfa">Sign in with MFA</button>
<button type="submit" name="mfa" value="no" id="without-mfa">Sign in without MFA</button>
</form></body></html>`))

type pageData struct {
	ID, Action, Error string
	Users             []User
	ACRs              []string
}

func (p *Provider) render(w http.ResponseWriter, status int, id, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = page.Execute(w, pageData{ID: id, Action: loginPath, Error: msg, Users: p.opts.Users, ACRs: p.opts.ACRs})
}

func (p *Provider) loginPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get(FieldRequest)
	if _, err := p.store.AuthRequestByID(r.Context(), id); err != nil {
		http.Error(w, "unknown or finished sign-in request", http.StatusBadRequest)
		return
	}
	p.render(w, http.StatusOK, id, "")
}

func (p *Provider) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	id := r.PostForm.Get(FieldRequest)
	u, ok := p.store.user(r.PostForm.Get(FieldUser))
	if !ok {
		p.render(w, http.StatusBadRequest, id, "choose a user")
		return
	}
	age, err := strconv.Atoi(r.PostForm.Get(FieldAge))
	if err != nil || age < 0 {
		p.render(w, http.StatusBadRequest, id, "bad age")
		return
	}
	when := p.opts.Now().Add(-time.Duration(age) * time.Second)
	if err := p.store.finish(id, u, r.PostForm.Get(FieldMFA) == "yes", r.PostForm.Get(FieldACR), when); err != nil {
		http.Error(w, "unknown or finished sign-in request", http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, op.AuthCallbackURL(p.op)(r.Context(), id), http.StatusFound)
}

// SignIn is a browser without JavaScript: it opens start (a link that
// redirects to the provider's authorization endpoint, or that endpoint),
// posts c on the sign-in page, and follows the redirects back to the
// client. It returns the last response, whose body the caller closes.
// client keeps the cookies (give it a cookie jar) and follows redirects.
func (p *Provider) SignIn(client *http.Client, start string, c Choice) (*http.Response, error) {
	resp, err := client.Get(start)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.Request.URL.Path != loginPath || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fakeidp: %s did not lead to the sign-in page: %s at %s", start, resp.Status, resp.Request.URL)
	}
	return client.PostForm(p.issuer+loginPath, c.Form(resp.Request.URL.Query().Get(FieldRequest)))
}
