// Package bot is mfadesk's Slack face: the /mfa command, the request modal,
// the approval message with its buttons, and private results. It turns
// Slack payloads into actions.Service calls and requests into Block Kit.
//
// Slack wants every payload acknowledged within 3 seconds. Handlers answer at
// once and leave look-ups, posting and execution to a bounded worker pool;
// the one exception is the request modal's submission, whose problems Slack
// only shows when they are in the HTTP response itself (see submit.go). The
// same handlers serve HTTP (Routes) and Socket Mode (RunSocketMode).
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
)

// Service is what the bot needs of the request workflow; *actions.Service
// implements it.
type Service interface {
	Submit(ctx context.Context, d actions.Draft) (actions.Request, error)
	Approve(ctx context.Context, id string, by actions.Person) (actions.Request, error)
	Deny(ctx context.Context, id string, by actions.Person, reason string) (actions.Request, error)
	Cancel(ctx context.Context, id string, by actions.Person) (actions.Request, error)
	MarkManual(ctx context.Context, id string, by actions.Person, done bool, note string) (actions.Request, error)
	Get(ctx context.Context, id string) (actions.Request, error)
	Actionable(ctx context.Context, p actions.Person) ([]actions.Request, error)
	MayDecide(r actions.Request, by actions.Person) error
	AttachMessage(ctx context.Context, id, ref string) error
	Requestable(p actions.Person) []actions.Action
	Policy() *actions.Policy
	Directory() actions.Directory
}

var _ Service = (*actions.Service)(nil)

// Metrics counts what happens between the bot and Slack. Implementations
// must be fast and safe for concurrent use.
type Metrics interface {
	// SlackCall: one Web API call ended, after any retries; code is "" on
	// success, else Slack's error code ("channel_not_found"), or
	// "rate_limited", "timeout" or "error".
	SlackCall(method, code string, took time.Duration)
	// SlackRetry: a call was throttled (429) and is tried again after wait.
	SlackRetry(method string, wait time.Duration)
	// JobDropped: the worker pool's queue was full and work of kind was
	// refused.
	JobDropped(kind string)
}

type nopMetrics struct{}

func (nopMetrics) SlackCall(string, string, time.Duration) {}
func (nopMetrics) SlackRetry(string, time.Duration)        {}
func (nopMetrics) JobDropped(string)                       {}

// Config holds the bot's dependencies. Service, Slack, ApprovalChannel and
// (for HTTP) SigningSecret are required; the rest have defaults.
type Config struct {
	Service Service
	// Slack is the Web API client with the bot token, built with
	// slack.OptionAPIURL(SLACK_API_URL).
	Slack *slack.Client
	// APIURL is SLACK_API_URL, for the Socket Mode connection (default
	// https://slack.com/api/).
	APIURL string
	// SigningSecret verifies HTTP requests; without it Routes refuses all.
	SigningSecret   string
	ApprovalChannel string
	Logger          *slog.Logger
	// Workers is the size of the worker pool (default 8); QueueSize bounds
	// the work waiting for it (default 64 per worker).
	Workers   int
	QueueSize int
	Metrics   Metrics

	// SubmitBudget is how long a request submission may take before the
	// modal shows "Checking…" and the check finishes in the background
	// (default 2s, well inside Slack's 3).
	SubmitBudget time.Duration
	// UpdateInterval spaces the approval message's progress updates
	// (default 2s); the final state is always drawn at once.
	UpdateInterval time.Duration
	// CallTimeout bounds each try of a Slack Web API call (default 10s);
	// Retries is how many times a throttled (429) call is tried again
	// (default 3; negative for none).
	CallTimeout time.Duration
	Retries     int
}

func (c *Config) validate() error {
	var errs []error
	if c.Service == nil {
		errs = append(errs, errors.New("bot: Service is required"))
	}
	if c.Slack == nil {
		errs = append(errs, errors.New("bot: Slack client is required"))
	}
	if c.ApprovalChannel == "" {
		errs = append(errs, errors.New("bot: ApprovalChannel is required"))
	}
	if c.APIURL == "" {
		c.APIURL = slack.APIURL
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Workers <= 0 {
		c.Workers = 8
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 64 * c.Workers
	}
	if c.Metrics == nil {
		c.Metrics = nopMetrics{}
	}
	if c.SubmitBudget <= 0 {
		c.SubmitBudget = 2 * time.Second
	}
	if c.UpdateInterval <= 0 {
		c.UpdateInterval = 2 * time.Second
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 10 * time.Second
	}
	if c.Retries < 0 {
		c.Retries = 0
	} else if c.Retries == 0 {
		c.Retries = 3
	}
	return errors.Join(errs...)
}

// Bot serves Slack. Create it with New; it implements actions.Notifier.
type Bot struct {
	cfg     Config
	svc     Service
	api     *slack.Client
	log     *slog.Logger
	pool    *pool
	seen    *memo
	flights *flights
	people  *peopleCache
	msgs    *renderer
	closing atomic.Bool
	// lateUpdateDelay separates the HTTP answer "Checking…" from the
	// views.update that replaces it, so that Slack applies them in order.
	lateUpdateDelay time.Duration
}

var _ actions.Notifier = (*Bot)(nil)

// New returns a bot; it fails when a required field of cfg is missing. The
// caller makes it the service's and the executor's notifier
// (Service.SetNotifier, ExecutorOptions.Notifier).
func New(cfg Config) (*Bot, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	b := &Bot{
		cfg: cfg, svc: cfg.Service, api: cfg.Slack, log: cfg.Logger,
		seen:            newMemo(10*time.Minute, 20000),
		flights:         newFlights(),
		lateUpdateDelay: 500 * time.Millisecond,
	}
	b.pool = newPool(cfg.Workers, cfg.QueueSize, b.log)
	b.people = newPeopleCache(30*time.Second, 5000)
	b.msgs = newRenderer(b)
	return b, nil
}

// Routes registers POST /slack/commands and POST /slack/interactivity.
func (b *Bot) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /slack/commands", b.serveCommand)
	mux.HandleFunc("POST /slack/interactivity", b.serveInteraction)
}

// Shutdown stops taking new work (HTTP answers 503 from then on), draws any
// coalesced message update now, and waits for queued and running work until
// ctx ends; then it interrupts what is left and returns ctx's error.
func (b *Bot) Shutdown(ctx context.Context) error {
	b.closing.Store(true)
	b.msgs.flushAll()
	return b.pool.shutdown(ctx)
}

// Check calls auth.test, for `mfadesk check`: it fails when Slack cannot be
// reached or the token is not valid.
func Check(ctx context.Context, client *slack.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := client.AuthTestContext(ctx); err != nil {
		return fmt.Errorf("slack auth.test: %w", err)
	}
	return nil
}
