package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

const usage = `usage: mfadesk [command]

commands:
  serve                          run the bot (the default)
  migrate                        apply pending database migrations
  check                          validate configuration and policy, reach Slack and the directory
  audit export [--since D] [--format jsonl|csv]
                                 write audit events to stdout, oldest first
  audit verify [--head HASH]     check the audit hash chain
  digest [--print] [--since D]   build the digest now; --print writes it to stdout instead of Slack

configuration is read from the environment: see README.md.
`

// exitError carries a process exit code other than 1.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// errSilent exits 1 having printed what it had to already.
var errSilent = errors.New("")

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintln(stderr, "mfadesk: "+strings.ReplaceAll(msg, "\n", "\nmfadesk: "))
	}
	return code
}

func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format+"\n\n"+usage, args...)}
}

// run is the whole program: main only calls it, so tests can run it in
// process (port 0, a temporary database) with their own environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, args, getenv, stdout, stderr)
	case "check":
		return check(ctx, args, getenv, stdout, stderr)
	case "audit":
		if len(args) == 0 {
			return usageError("audit: want export or verify")
		}
		switch args[0] {
		case "export":
			return auditExport(ctx, args[1:], getenv, stdout, stderr)
		case "verify":
			return auditVerify(ctx, args[1:], getenv, stdout, stderr)
		}
		return usageError("audit: unknown subcommand %q", args[0])
	case "digest":
		return digestCmd(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageError("unknown command %q", cmd)
}

// flags parses a subcommand's flags; errors are usage errors.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return usageError("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return usageError("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// newLogger makes the structured logger: JSON by default, on stderr.
func newLogger(c config, stderr io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(stderr, opts))
}
