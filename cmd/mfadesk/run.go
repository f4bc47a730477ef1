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

// commandFunc is one command's body: its arguments after the command name.
type commandFunc func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// command is one line of the usage and what runs it.
type command struct {
	name     string // "audit export"
	synopsis string // its arguments, after the name
	does     string // one line
	run      commandFunc
}

// commands lists every command, in the order of the usage. A command with
// subcommands ("audit") is the prefix of theirs.
func commands() []command {
	return []command{
		{"serve", "", "run the bot (the default command)", serve},
		{"migrate", "", "apply pending database migrations", migrate},
		{"check", "", "validate configuration and policy, reach the database, Slack and the directory", check},
		{"audit export", "[--since D] [--format jsonl|csv]", "write audit events to stdout, oldest first", auditExport},
		{"audit verify", "[--head HASH]", "check the audit hash chain", auditVerify},
		{"digest", "[--print] [--since D]", "build the digest now; --print writes it to stdout instead of Slack", digestCmd},
		{"demo", "[--addr HOST:PORT]", "the whole bot in a browser, with no Slack workspace and no directory account (default 127.0.0.1:8080)", demoCmd},
		{"version", "", "print the version, commit and Go version", versionCmd},
	}
}

// usage is the whole program's usage, listing cmds.
func usage(cmds []command) string {
	var b strings.Builder
	b.WriteString("usage: mfadesk [command] [flags]\n\ncommands:\n")
	for _, c := range cmds {
		line := c.name
		if c.synopsis != "" {
			line += " " + c.synopsis
		}
		if len(line) > 30 {
			fmt.Fprintf(&b, "  %s\n  %-30s %s\n", line, "", c.does)
		} else {
			fmt.Fprintf(&b, "  %-30s %s\n", line, c.does)
		}
	}
	b.WriteString("\nEvery command answers -h or --help. Configuration is read from the environment: see README.md.\n")
	return b.String()
}

// usageOf is one command's usage: its synopsis, what it does and its flags.
func (c command) usageOf(flags string) string {
	s := "usage: mfadesk " + c.name
	if c.synopsis != "" {
		s += " " + c.synopsis
	}
	s += "\n\n" + c.does + "\n"
	if flags != "" {
		s += "\nflags:\n" + flags
	}
	return s
}

// exitError carries a process exit code other than 1, and for code 2 the
// usage to print after the message.
type exitError struct {
	code  int
	err   error
	usage string
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// errSilent exits 1 having printed what it had to already.
var errSilent = errors.New("")

// helpError asks for the command's usage on stdout and exit 0; flags are the
// command's flag defaults.
type helpError struct{ flags string }

func (e *helpError) Error() string { return "help requested" }

// exitCode prints err on stderr, each line prefixed with "mfadesk: " and any
// usage after it unprefixed, and returns the exit code.
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
	if ee != nil && ee.usage != "" {
		fmt.Fprint(stderr, "\n"+ee.usage)
	}
	return code
}

// usageError is a wrong command line: exit 2 with the command's usage.
func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool { return arg == "-h" || arg == "--help" || arg == "-help" }

// run is the whole program: main only calls it, so tests can run it in
// process (port 0, a temporary database) with their own environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmds := commands()
	if len(args) == 0 {
		args = []string{"serve"}
	}
	switch args[0] {
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage(cmds))
		return nil
	case "--version", "-version":
		return versionCmd(ctx, args[1:], getenv, stdout, stderr)
	}
	if strings.HasPrefix(args[0], "-") {
		// Flags before any command belong to serve, the default.
		args = append([]string{"serve"}, args...)
	}
	// The longest command name that prefixes args: "audit export" before "audit".
	var found *command
	n := 0
	for i := range cmds {
		words := strings.Fields(cmds[i].name)
		if len(words) > len(args) || len(words) <= n || strings.Join(args[:len(words)], " ") != cmds[i].name {
			continue
		}
		found, n = &cmds[i], len(words)
	}
	if found == nil {
		return groupOrUnknown(cmds, args, stdout)
	}
	err := found.run(ctx, args[n:], getenv, stdout, stderr)
	var he *helpError
	if errors.As(err, &he) {
		fmt.Fprint(stdout, found.usageOf(he.flags))
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) && ee.code == 2 && ee.usage == "" {
		ee.usage = found.usageOf(flagsOf(err))
	}
	return err
}

// groupOrUnknown answers a command line that names no command: a group's
// help ("audit -h"), a group missing its subcommand, or an unknown command.
func groupOrUnknown(cmds []command, args []string, stdout io.Writer) error {
	var group []command
	for _, c := range cmds {
		if strings.HasPrefix(c.name, args[0]+" ") {
			group = append(group, c)
		}
	}
	if len(group) == 0 {
		return &exitError{code: 2, err: fmt.Errorf("unknown command %q", args[0]), usage: usage(cmds)}
	}
	if len(args) > 1 && isHelp(args[1]) {
		fmt.Fprint(stdout, usage(group))
		return nil
	}
	if len(args) == 1 {
		return &exitError{code: 2, err: fmt.Errorf("%s: want a subcommand", args[0]), usage: usage(group)}
	}
	return &exitError{code: 2, err: fmt.Errorf("%s: unknown subcommand %q", args[0], args[1]), usage: usage(group)}
}

// flagErr is a flag parsing error that knows the command's flags.
type flagErr struct {
	error
	flags string
}

func (e *flagErr) Unwrap() error { return e.error }

func flagsOf(err error) string {
	var fe *flagErr
	if errors.As(err, &fe) {
		return fe.flags
	}
	return ""
}

// defaults is fs's flag list as flag.PrintDefaults writes it.
func defaults(fs *flag.FlagSet) string {
	var b strings.Builder
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	return b.String()
}

// parseFlags parses a subcommand's flags. -h and --help return a helpError
// (run prints the usage on stdout, exit 0); other errors are usage errors.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &helpError{flags: defaults(fs)}
		}
		return &exitError{code: 2, err: &flagErr{fmt.Errorf("%s: %v", fs.Name(), err), defaults(fs)}}
	}
	if fs.NArg() > 0 {
		if isHelp(fs.Arg(0)) {
			return &helpError{flags: defaults(fs)}
		}
		return &exitError{code: 2, err: &flagErr{fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0)), defaults(fs)}}
	}
	return nil
}

// newLogger makes the structured logger: JSON by default, on stderr. The
// level and format were validated by loadConfig.
func newLogger(c config, stderr io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: durationsAsText}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(stderr, opts))
}

// durationsAsText logs a time.Duration as Go writes it ("1m0s"), not as
// nanoseconds.
func durationsAsText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	return a
}
