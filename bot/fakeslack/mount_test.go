package fakeslack_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/bot/fakeslack"
)

// TestMounted serves the fake under a prefix of another server, as
// `mfadesk demo` does, and checks OnChange, Stamp and OpenIM.
func TestMounted(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s := fakeslack.NewMounted(srv.URL + "/fake/")
	mux.Handle("/fake/", http.StripPrefix("/fake", s.Handler()))
	var changes atomic.Int32
	s.OnChange(func() { changes.Add(1) })
	s.AddUser(fakeslack.User{ID: "U1", Name: "ann", Email: "ann@example.com"})
	s.AddChannel("C1")
	api := slack.New(s.Token, slack.OptionAPIURL(s.APIURL()))
	ctx := context.Background()

	if s.APIURL() != srv.URL+"/fake/api/" {
		t.Errorf("APIURL %q", s.APIURL())
	}
	if _, err := api.GetUserInfoContext(ctx, "U1"); err != nil {
		t.Fatal(err)
	}
	if n := changes.Load(); n != 0 {
		t.Errorf("users.info counted as %d changes", n)
	}
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false)); err != nil {
		t.Fatal(err)
	}
	if n := changes.Load(); n != 1 {
		t.Errorf("chat.postMessage: %d changes, want 1", n)
	}
	// A DM opened by the page is one the bot may post in, as after
	// conversations.open.
	im := s.OpenIM("U1")
	if _, _, err := api.PostMessageContext(ctx, im, slack.MsgOptionText("private", false)); err != nil {
		t.Fatalf("post to the opened DM: %v", err)
	}
	a, b := s.Stamp(), s.Stamp()
	if !(a < b) || !(s.Messages(im)[0].TS < a) {
		t.Errorf("stamps %q %q after message %q: want increasing", a, b, s.Messages(im)[0].TS)
	}
}

// TestResponseURL checks that a response URL answers in the command's
// channel, and is refused after five uses, as Slack does.
func TestResponseURL(t *testing.T) {
	s, _ := setup(t)
	form := s.CommandForm("U1", "C1", "/mfa", "help")
	u := form.Get("response_url")
	for i := range 6 {
		resp, err := http.Post(u, "application/json", strings.NewReader(`{"text":"answer","response_type":"ephemeral"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusOK
		if i == 5 {
			want = http.StatusNotFound
		}
		if resp.StatusCode != want {
			t.Errorf("use %d: %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	r := s.Responses()
	if len(r) != 5 || r[0].Channel != "C1" || r[0].User != "U1" || r[0].TS == "" || r[0].Text != "answer" {
		t.Errorf("responses %+v", r)
	}
}
