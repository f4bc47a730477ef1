// Package bot is mfadesk's Slack face: the /mfa command, the request modal,
// the approval message with its buttons, and private results. It turns
// Slack payloads into Service calls; bot/blocks turns requests into Block
// Kit.
//
// Slack wants every payload acknowledged within 3 seconds. Handlers answer at
// once and leave look-ups, posting and execution to a bounded worker pool;
// the one exception is the request modal's submission, whose problems Slack
// only shows when they are in the HTTP response itself (see submit.go). The
// same handlers serve HTTP (Routes) and Socket Mode (RunSocketMode).
//
// The bot has three jobs, each a type of its own over a shared core (Slack,
// the pool, the service): intake (slash commands and the request modal),
// decisions (the buttons and the deny modal) and notifications (approval
// message redraws and direct messages). Bot ties them to the transports.
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

// Service is what the bot asks of the request workflow; *actions.Service
// implements it. The bot decides nothing the policy decides: it asks.
type Service interface {
	// Submit stores a request from a draft (see actions.Service.Submit).
	Submit(ctx context.Context, d actions.Draft) (actions.Request, error)
	// CheckDraft checks a draft against the policy without storing or
	// auditing anything.
	CheckDraft(d actions.Draft) error
	// Requestable lists the actions p may request; MaxTargets bounds the
	// users one request may name.
	Requestable(p actions.Person) []actions.Action
	MaxTargets() int

	// Approve, Deny, Cancel and MarkManual change a request on by's word;
	// a refusal is audited by the service.
	Approve(ctx context.Context, id string, by actions.Person) (actions.Request, error)
	Deny(ctx context.Context, id string, by actions.Person, reason string) (actions.Request, error)
	Cancel(ctx context.Context, id string, by actions.Person) (actions.Request, error)
	MarkManual(ctx context.Context, id string, by actions.Person, done bool, note string) (actions.Request, error)
	// BeginStepUp runs Approve's checks for a step_up action and issues
	// the approver's single-use sign-in link token (see
	// actions.Service.BeginStepUp); Approve on such an action returns
	// actions.ErrStepUpRequired.
	BeginStepUp(ctx context.Context, id string, by actions.Person) (actions.Request, string, error)
	// AuthorizeDeny returns the request when by may deny it now; when not,
	// it records the refusal and returns why.
	AuthorizeDeny(ctx context.Context, id string, by actions.Person) (actions.Request, error)

	// Status returns a request for by to see (ErrNotFound when by may not);
	// Get returns it for the bot's own redraws; Actionable lists what by can
	// act on.
	Status(ctx context.Context, id string, by actions.Person) (actions.Request, error)
	Get(ctx context.Context, id string) (actions.Request, error)
	Actionable(ctx context.Context, by actions.Person) ([]actions.Request, error)
	// ManualSteps is what an approver does by hand for a.
	ManualSteps(a actions.Action) string
	// AttachMessage remembers where a request's approval message is.
	AttachMessage(ctx context.Context, id, ref string) error
	// Abandon cancels a pending request on mfadesk's behalf, with reason,
	// when its approval message cannot be posted.
	Abandon(ctx context.Context, id, reason string) (actions.Request, error)

	// VerifyMethods lists the caller verification methods r's requester
	// may start; StartVerification starts one for by (the requester) and
	// AnswerVerification records the Yes or No of the person asked.
	VerifyMethods(r actions.Request) []actions.VerifyMethod
	StartVerification(ctx context.Context, id string, by actions.Person, m actions.VerifyMethod) (actions.Request, []actions.VerifyNote, error)
	AnswerVerification(ctx context.Context, id string, by actions.Person, yes bool) (actions.Request, error)

	// ReportNotMe records by's "This wasn't me" on a request and starts
	// the containment; a refusal is audited by the service.
	ReportNotMe(ctx context.Context, id string, by actions.Person) (actions.Report, error)
	// ContainmentOf lists the containment requests reports on id started.
	ContainmentOf(ctx context.Context, id string) ([]actions.Request, error)
	// NotMeTerms are what "This wasn't me" runs and how long it works.
	NotMeTerms() (containment []actions.Action, ttl time.Duration)
	// SureHoldsNoRole reports, without I/O, that the policy gives the
	// Slack user no role whatever their email is.
	SureHoldsNoRole(slackID string) bool
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
	// SecurityChannel gets security alerts: a step-up sign-in by someone
	// other than the approver, "This wasn't me" reports and their
	// containment (MFADESK_SECURITY_CHANNEL; default the approval channel).
	SecurityChannel string
	// PublicURL is MFADESK_PUBLIC_URL, where approvers' browsers reach the
	// step-up endpoints; empty when step-up is off.
	PublicURL string
	Logger    *slog.Logger
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
	// UserBurst and UserRate are each Slack user's budget of commands,
	// clicks and submissions: a burst of UserBurst (default 30), refilled
	// at UserRate a second (default 1). Past it, their work is refused
	// before it is queued.
	UserBurst int
	UserRate  float64
}

// validate reports every missing required field.
func (c Config) validate() error {
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
	return errors.Join(errs...)
}

// withDefaults returns c with every unset optional field filled in.
func (c Config) withDefaults() Config {
	if c.APIURL == "" {
		c.APIURL = slack.APIURL
	}
	if c.SecurityChannel == "" {
		c.SecurityChannel = c.ApprovalChannel
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
	if c.UserBurst <= 0 {
		c.UserBurst = defaultUserBurst
	}
	if c.UserRate <= 0 {
		c.UserRate = defaultUserRate
	}
	if c.Retries < 0 {
		c.Retries = 0
	} else if c.Retries == 0 {
		c.Retries = 3
	}
	return c
}

// Bot serves Slack. Create it with New; it implements actions.Notifier.
type Bot struct {
	cfg       Config
	log       *slog.Logger
	pool      *pool
	closing   *atomic.Bool
	intake    *intake
	decisions *decisions
	notices   *notifications
	// socket is the Socket Mode connection's last known state (see
	// SocketConnected).
	socket atomic.Pointer[string]
}

var (
	_ actions.Notifier       = (*Bot)(nil)
	_ actions.StepUpNotifier = (*Bot)(nil)
)

// New returns a bot; it fails when a required field of cfg is missing. The
// caller makes it the service's and the executor's notifier
// (Service.SetNotifier, ExecutorOptions.Notifier).
func New(cfg Config) (*Bot, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	closing := &atomic.Bool{}
	p := newPool(cfg.Workers, cfg.QueueSize, cfg.Logger)
	c := &core{
		svc:     cfg.Service,
		slack:   newSlackAPI(cfg.Slack, cfg.Metrics, cfg.Logger, cfg.CallTimeout, cfg.Retries),
		jobs:    &jobs{pool: p, metrics: cfg.Metrics, log: cfg.Logger, closing: closing},
		budget:  newUserBudget(cfg.UserBurst, cfg.UserRate, time.Now),
		log:     cfg.Logger,
		channel: cfg.ApprovalChannel,
	}
	// recent drops redelivered payloads and second clicks, and sends
	// confirmations and outcomes once.
	recent := newMemo(10*time.Minute, 20000)
	forms := &forms{core: c, flights: newFlights(), budget: cfg.SubmitBudget, lateUpdateDelay: 500 * time.Millisecond}
	notices := &notifications{core: c, recent: recent, security: cfg.SecurityChannel}
	notices.messages = newRenderer(c, cfg.UpdateInterval)
	return &Bot{
		cfg: cfg, log: cfg.Logger, pool: p, closing: closing,
		intake:    &intake{core: c, recent: recent, forms: forms, notices: notices},
		decisions: &decisions{core: c, recent: recent, forms: forms, publicURL: cfg.PublicURL},
		notices:   notices,
	}, nil
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
	b.notices.messages.flushAll()
	return b.pool.shutdown(ctx)
}

// Changed redraws r's approval message (posting it when r is new) and, when
// r has ended, tells the requester. It only queues the work: the service and
// the executor call it while they work.
func (b *Bot) Changed(ctx context.Context, r actions.Request) { b.notices.changed(ctx, r) }

// DeliverSecret sends the requester t's secret in a direct message. The
// value is only ever in that message: not in the notification text, not in
// the channel, not in the log. It returns an error when the message was
// not delivered.
func (b *Bot) DeliverSecret(ctx context.Context, r actions.Request, t actions.Target, s *actions.Secret) error {
	return b.notices.deliverSecret(ctx, r, t, s)
}

// ManualSteps sends every approver of r the steps, with Done and Failed
// buttons. It fails when any of them could not be reached.
func (b *Bot) ManualSteps(ctx context.Context, r actions.Request, steps string) error {
	return b.notices.manualSteps(ctx, r, steps)
}

// SigningIn shows on r's approval message that by is signing in to approve
// it (step-up), until their approval is recorded.
func (b *Bot) SigningIn(ctx context.Context, r actions.Request, by actions.Person) {
	b.notices.messages.signingIn(r, by.SlackID)
}

// SecurityAlert posts text about r in the security channel.
func (b *Bot) SecurityAlert(ctx context.Context, r actions.Request, text string) {
	b.notices.securityAlert(r, text)
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
