package fakeslack_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/bot/fakeslack"
)

func setup(t *testing.T) (*fakeslack.Server, *slack.Client) {
	t.Helper()
	s := fakeslack.New()
	t.Cleanup(s.Close)
	s.AddUser(fakeslack.User{ID: "U1", Name: "ann", Email: "ann@example.com"})
	s.AddUser(fakeslack.User{ID: "U2", Name: "gone", Deleted: true})
	s.AddChannel("C1")
	return s, slack.New(s.Token, slack.OptionAPIURL(s.APIURL()))
}

func slackCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

func TestTokenChecked(t *testing.T) {
	s, _ := setup(t)
	for token, want := range map[string]string{"xoxb-wrong": "invalid_auth", "": "not_authed"} {
		_, err := slack.New(token, slack.OptionAPIURL(s.APIURL())).AuthTestContext(context.Background())
		if slackCode(err) != want {
			t.Errorf("token %q: %v, want %s", token, err, want)
		}
	}
}

func TestUsersAndMessages(t *testing.T) {
	s, api := setup(t)
	ctx := context.Background()
	u, err := api.GetUserInfoContext(ctx, "U1")
	if err != nil || u.Profile.Email != "ann@example.com" {
		t.Fatalf("users.info: %+v %v", u, err)
	}
	if _, err := api.GetUserInfoContext(ctx, "U9"); slackCode(err) != "user_not_found" {
		t.Errorf("unknown user: %v", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C9", slack.MsgOptionText("hi", false)); slackCode(err) != "channel_not_found" {
		t.Errorf("unknown channel: %v", err)
	}
	blocks := slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "<@U1> hi", false, false), nil, nil))
	ch, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false), blocks)
	if err != nil || ch != "C1" || ts == "" {
		t.Fatalf("chat.postMessage: %v", err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("edited", false)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", "1.1", slack.MsgOptionText("x", false)); slackCode(err) != "message_not_found" {
		t.Errorf("unknown message: %v", err)
	}
	m := s.Messages("C1")
	if len(m) != 1 || m[0].Text != "edited" || m[0].Updates != 1 {
		t.Errorf("messages %+v", m)
	}
	long := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, strings.Repeat("x", 3001), false, false), nil, nil)
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionBlocks(long)); slackCode(err) != "invalid_blocks" {
		t.Errorf("a 3001-character section: %v", err)
	}
	im, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{"U1"}})
	if err != nil || im.ID != s.IM("U1") {
		t.Fatalf("conversations.open: %v", err)
	}
	if _, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{"U2"}}); slackCode(err) != "user_disabled" {
		t.Errorf("deactivated user: %v", err)
	}
	if _, err := api.PostEphemeralContext(ctx, im.ID, "U1", slack.MsgOptionText("psst", false)); err != nil {
		t.Fatal(err)
	}
	if e := s.Ephemerals(); len(e) != 1 || e[0].User != "U1" {
		t.Errorf("ephemerals %+v", e)
	}
	if calls := s.Calls("chat.postMessage"); len(calls) != 3 || calls[1].Args["channel"] != "C1" {
		t.Errorf("recorded %+v", calls)
	}
}

func TestRateLimitAndFaults(t *testing.T) {
	s, api := setup(t)
	s.RateLimit("auth.test", 1, 2*time.Second)
	_, err := api.AuthTestContext(context.Background())
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Errorf("rate limited: %v", err)
	}
	s.Fail("auth.test", "account_inactive")
	if _, err := api.AuthTestContext(context.Background()); slackCode(err) != "account_inactive" {
		t.Errorf("fault: %v", err)
	}
	if _, err := api.AuthTestContext(context.Background()); err != nil {
		t.Errorf("after the faults: %v", err)
	}
}

func TestViews(t *testing.T) {
	s, api := setup(t)
	ctx := context.Background()
	view := slack.ModalViewRequest{Type: slack.VTModal, Title: slack.NewTextBlockObject(slack.PlainTextType, "Hi", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "x", false, false), nil, nil)}}}
	if _, err := api.OpenViewContext(ctx, "nope", view); slackCode(err) != "invalid_trigger_id" {
		t.Errorf("unknown trigger: %v", err)
	}
	trig := s.NewTrigger("U1")
	opened, err := api.OpenViewContext(ctx, trig, view)
	if err != nil || opened.ID == "" || opened.Hash == "" {
		t.Fatalf("views.open: %+v %v", opened, err)
	}
	if _, err := api.OpenViewContext(ctx, trig, view); slackCode(err) != "exchanged_trigger_id" {
		t.Errorf("used trigger: %v", err)
	}
	s.SetTriggerTTL(0)
	if _, err := api.OpenViewContext(ctx, s.NewTrigger("U1"), view); slackCode(err) != "expired_trigger_id" {
		t.Errorf("expired trigger: %v", err)
	}
	if _, err := api.UpdateViewContext(ctx, view, "", "stale-hash", opened.ID); slackCode(err) != "hash_conflict" {
		t.Errorf("stale hash: %v", err)
	}
	view.Title.Text = "A title far too long for a modal"
	if _, err := api.UpdateViewContext(ctx, view, "", "", opened.ID); slackCode(err) != "invalid_arguments" {
		t.Errorf("long title: %v", err)
	}
	if _, err := api.UpdateViewContext(ctx, view, "", "", "V404"); slackCode(err) != "not_found" {
		t.Errorf("unknown view: %v", err)
	}
}

func TestUpload(t *testing.T) {
	s, api := setup(t)
	f, err := api.UploadFileContext(context.Background(), slack.UploadFileParameters{
		Filename: "digest.png", FileSize: 5, Reader: strings.NewReader("hello"), Channel: "C1", Title: "Digest",
	})
	if err != nil {
		t.Fatal(err)
	}
	files := s.Files()
	if len(files) != 1 || files[0].ID != f.ID || string(files[0].Content) != "hello" || files[0].Channel != "C1" || !files[0].Completed {
		t.Errorf("files %+v", files)
	}
}

func TestAppSigns(t *testing.T) {
	s, _ := setup(t)
	var got http.Header
	var body []byte
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/commands", func(w http.ResponseWriter, r *http.Request) {
		got = r.Header
		body, _ = io.ReadAll(r.Body)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	if _, err := s.App(srv.URL, "secret").Command("U1", "/mfa", "help"); err != nil {
		t.Fatal(err)
	}
	sv, err := slack.NewSecretsVerifier(got, "secret")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = sv.Write(body)
	form, _ := url.ParseQuery(string(body))
	if err := sv.Ensure(); err != nil {
		t.Errorf("the signature does not verify: %v", err)
	}
	if form.Get("trigger_id") == "" || !strings.HasPrefix(form.Get("response_url"), s.URL) {
		t.Errorf("form %v", form)
	}
}

func TestLookupByEmail(t *testing.T) {
	s, api := setup(t)
	s.AddUser(fakeslack.User{ID: "U3", Name: "old", Email: "old@example.com", Deleted: true})
	ctx := context.Background()
	for _, tc := range []struct {
		email, wantID, wantErr string
		deleted                bool
	}{
		{email: "ann@example.com", wantID: "U1"},
		{email: "ANN@Example.com", wantID: "U1"},
		{email: "old@example.com", wantID: "U3", deleted: true},
		{email: "nobody@example.com", wantErr: "users_not_found"},
	} {
		u, err := api.GetUserByEmailContext(ctx, tc.email)
		if tc.wantErr != "" {
			if slackCode(err) != tc.wantErr {
				t.Errorf("%s: %v, want %s", tc.email, err, tc.wantErr)
			}
			continue
		}
		if err != nil || u.ID != tc.wantID || u.Deleted != tc.deleted {
			t.Errorf("%s: %+v %v, want %s deleted=%v", tc.email, u, err, tc.wantID, tc.deleted)
		}
	}
	if u := s.Undocumented(); len(u) != 0 {
		t.Errorf("undocumented: %q", u)
	}
}

func TestLookupByEmailRefusesUndocumentedArgument(t *testing.T) {
	s, _ := setup(t)
	resp, err := http.PostForm(s.APIURL()+"users.lookupByEmail", url.Values{"token": {s.Token}, "email": {"ann@example.com"}, "include_locale": {"true"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "invalid_arg_name") {
		t.Errorf("answer %s, want invalid_arg_name", b)
	}
	if u := s.Undocumented(); len(u) != 1 || !strings.Contains(u[0], "include_locale") {
		t.Errorf("undocumented = %q, want the include_locale argument", u)
	}
}
