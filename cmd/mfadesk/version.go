package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
)

// buildInfo is what `mfadesk version` prints and mfadesk_build_info labels.
type buildInfo struct {
	Version   string // module version, "(devel)" for a local build
	Revision  string // VCS commit, with "+dirty" when modified; "unknown" without VCS data
	GoVersion string
}

// readBuildInfo reads the binary's own build information.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: "(devel)", Revision: "unknown", GoVersion: "unknown"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.GoVersion = bi.GoVersion
	if bi.Main.Version != "" {
		b.Version = bi.Main.Version
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && b.Revision != "unknown" {
		b.Revision += "+dirty"
	}
	return b
}

// versionCmd is `mfadesk version` (also `mfadesk --version`).
func versionCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := parseFlags(flag.NewFlagSet("version", flag.ContinueOnError), args, stderr); err != nil {
		return err
	}
	b := readBuildInfo()
	fmt.Fprintf(stdout, "mfadesk %s commit %s %s\n", b.Version, b.Revision, b.GoVersion)
	return nil
}
